package oauthguard_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// goBlock is a fenced Go block of the README.
var goBlock = regexp.MustCompile("(?s)\n```go\n(.*?)\n```\n")

// TestREADMEGoBlocks builds every Go block of README.md as the package it
// declares (each is a whole file, imports included), and runs the tests of
// those that are test files, so that the README cannot drift from the API.
// The blocks are written under testdata/, which go list ./... ignores.
func TestREADMEGoBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlock.FindAllStringSubmatch(string(readme), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d Go blocks in README.md; the check would prove little", len(blocks))
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("testdata", "readme-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(dir)
		os.Remove("testdata") // only when empty
	})
	pkgLine := regexp.MustCompile(`(?m)^package (\w+)$`)
	var files, tests []string // package dirs
	lines := map[string]int{}
	for i, b := range blocks {
		src := b[1]
		line := strings.Count(string(readme[:strings.Index(string(readme), src)]), "\n") + 1
		m := pkgLine.FindStringSubmatch(src)
		if m == nil || !strings.HasPrefix(src, "package ") {
			t.Errorf("README Go block at line %d does not start with a package clause; every block must be a whole file", line)
			continue
		}
		pkgDir := "./" + filepath.ToSlash(filepath.Join(dir, fmt.Sprintf("b%d", i)))
		lines[pkgDir] = line
		if err := os.MkdirAll(pkgDir, 0o755); err != nil {
			t.Fatal(err)
		}
		name := "block.go"
		if strings.HasSuffix(m[1], "_test") {
			name = "block_test.go"
			tests = append(tests, pkgDir)
		} else {
			files = append(files, pkgDir)
		}
		if err := os.WriteFile(filepath.Join(pkgDir, name), []byte(src+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// go vet type-checks them all at once (and vets them), without linking.
	if out, err := exec.Command("go", append([]string{"vet"}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("README Go blocks (lines %v) do not compile or vet cleanly: %v\n%s", lines, err, out)
	}
	if len(tests) == 0 {
		t.Error("README has no test block (Testing your handlers)")
		return
	}
	if out, err := exec.Command("go", append([]string{"test", "-count=1"}, tests...)...).CombinedOutput(); err != nil {
		t.Errorf("README test blocks (lines %v) fail: %v\n%s", lines, err, out)
	}
}
