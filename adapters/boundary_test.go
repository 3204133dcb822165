// Package adapters_test holds the gin boundary check. The adapters live in
// the subpackages httpauth (net/http) and ginauth (gin).
package adapters_test

import (
	"os/exec"
	"strings"
	"testing"
)

// ginPath is the module only ginauth and the gin example may depend on.
const ginPath = "github.com/gin-gonic/gin"

// TestGinStaysInItsPackages holds the gin boundary as if it were a module
// boundary: no package of this module other than adapters/ginauth and
// example/gin may depend on gin, directly or not, so net/http users never
// build it.
func TestGinStaysInItsPackages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	module := goList(t, "-m")[0]
	allowed := map[string]bool{module + "/adapters/ginauth": true, module + "/example/gin": true}
	var pkgs []string
	for _, p := range goList(t, module+"/...") {
		if !allowed[p] {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %q; the check would prove nothing", pkgs)
	}
	for _, p := range pkgs {
		for _, dep := range goList(t, "-deps", p) {
			if dep == ginPath || strings.HasPrefix(dep, ginPath+"/") {
				t.Errorf("%s depends on %s (go list -deps %s)", p, dep, p)
				break
			}
		}
	}
}

func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
	return strings.Fields(string(out))
}
