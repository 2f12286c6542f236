// krt is the command line for krt: run steps on warm runtimes, follow their
// logs, and inspect and cancel them, with kubectl's conventions.
package main

import (
	"os"

	"krt.dev/krt/cmd/krt/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
