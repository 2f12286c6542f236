// Package outputs reads the file a step names by $KRT_OUTPUTS: key=value
// lines and heredoc values (key<<EOF ... EOF), within fixed limits so that
// outputs always fit in a Run's status.
package outputs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

const (
	// MaxKeys is the most keys one Run may output.
	MaxKeys = 64
	// MaxBytes bounds the keys and values of one Run together.
	MaxBytes = 64 << 10
	// maxFileBytes leaves room for delimiters and newlines around MaxBytes;
	// anything beyond it is too large however it parses.
	maxFileBytes = 2 * MaxBytes
)

var keyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,127}$`)

// ErrTooLarge is wrapped by errors for outputs beyond MaxKeys or MaxBytes.
var ErrTooLarge = errors.New("outputs too large")

// ErrInvalid is wrapped by errors for malformed lines.
var ErrInvalid = errors.New("invalid outputs")

// ReadFile parses the outputs file at path. A missing file means no outputs.
func ReadFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%w: the outputs file is over %d bytes", ErrTooLarge, maxFileBytes)
	}
	return Parse(data)
}

// Parse parses outputs. A later value for the same key wins.
func Parse(data []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxFileBytes+1)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		key, value, err := parseLine(sc, text, &line)
		if err != nil {
			return nil, err
		}
		out[key] = value
		if len(out) > MaxKeys {
			return nil, fmt.Errorf("%w: more than %d keys", ErrTooLarge, MaxKeys)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if size := Size(out); size > MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes of keys and values, the limit is %d", ErrTooLarge, size, MaxBytes)
	}
	return out, nil
}

func parseLine(sc *bufio.Scanner, text string, line *int) (string, string, error) {
	if key, delim, ok := strings.Cut(text, "<<"); ok && !strings.Contains(key, "=") {
		if err := checkKey(key, *line); err != nil {
			return "", "", err
		}
		if delim == "" {
			return "", "", fmt.Errorf("%w: line %d: heredoc for %q has no delimiter", ErrInvalid, *line, key)
		}
		value, err := heredoc(sc, delim, line)
		if err != nil {
			return "", "", fmt.Errorf("%w: heredoc for %q: %v", ErrInvalid, key, err)
		}
		return key, value, nil
	}
	key, value, ok := strings.Cut(text, "=")
	if !ok {
		return "", "", fmt.Errorf("%w: line %d: want key=value or key<<DELIMITER", ErrInvalid, *line)
	}
	return key, value, checkKey(key, *line)
}

func heredoc(sc *bufio.Scanner, delim string, line *int) (string, error) {
	start := *line
	var lines []string
	for sc.Scan() {
		*line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == delim {
			return strings.Join(lines, "\n"), nil
		}
		lines = append(lines, text)
	}
	return "", fmt.Errorf("delimiter %q opened on line %d is never closed", delim, start)
}

func checkKey(key string, line int) error {
	if !keyPattern.MatchString(key) {
		return fmt.Errorf("%w: line %d: key %q must match %s", ErrInvalid, line, key, keyPattern)
	}
	return nil
}

// Size is what outputs count against MaxBytes.
func Size(out map[string]string) int {
	n := 0
	for k, v := range out {
		n += len(k) + len(v)
	}
	return n
}
