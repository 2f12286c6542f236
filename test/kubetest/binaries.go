package kubetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Binaries are krt's commands, built from this tree for the test run.
type Binaries struct {
	Dir                                   string
	Krt, Controller, Runtimed, KrtRuntime string
}

var (
	buildOnce sync.Once
	built     Binaries
	buildErr  error
)

// Build builds krt's binaries once per test process, with the race detector
// when the tests have it, so the processes a test starts are checked too.
// They take about 300 MB: the caller removes Dir when it is done.
func Build() (Binaries, error) {
	buildOnce.Do(func() {
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "krt-bin-")
		if err != nil {
			buildErr = err
			return
		}
		args := []string{"build", "-o", dir + "/"}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/krt", "./cmd/krt-controller", "./cmd/runtimed", "./cmd/krt-runtime")
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built = Binaries{
			Dir:        dir,
			Krt:        filepath.Join(dir, "krt"),
			Controller: filepath.Join(dir, "krt-controller"),
			Runtimed:   filepath.Join(dir, "runtimed"),
			KrtRuntime: filepath.Join(dir, "krt-runtime"),
		}
	})
	return built, buildErr
}
