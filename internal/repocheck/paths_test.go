package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the directory holding go.mod, found upwards from this
// package's directory (the test's working directory).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// outside reports why the path p, written in a file of directory dir,
// names something outside the repository root, or "" when it does not.
func outside(root, dir, p string) string {
	if strings.Contains(p, "shared/testdata") || strings.Contains(p, "shared/seeds") {
		return "names the steering repository's shared/ folder"
	}
	if filepath.IsAbs(p) || !strings.Contains(p, "..") {
		return ""
	}
	abs := filepath.Clean(filepath.Join(dir, p))
	if rel, err := filepath.Rel(root, abs); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "resolves to " + abs + ", outside the repository"
	}
	return ""
}

// TestNoTestReadsOutsideTheRepository fails when a test file names a
// relative path that climbs out of the repository (a string literal, or a
// filepath.Join / path.Join of literals), or the shared/ folder that CI
// happens to check out beside the clone. Test data belongs in the
// package's testdata/ directory.
func TestNoTestReadsOutsideTheRepository(t *testing.T) {
	root := repoRoot(t)
	self, err := os.Getwd() // this package's own tests spell bad paths on purpose
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == self {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files++
		dir := filepath.Dir(path)
		report := func(pos token.Pos, p string) {
			if why := outside(root, dir, p); why != "" {
				t.Errorf("%s: %q %s", fset.Position(pos), p, why)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						report(n.Pos(), s)
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Join" {
					var parts []string
					for _, a := range n.Args {
						lit, ok := a.(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							return true
						}
						s, _ := strconv.Unquote(lit.Value)
						parts = append(parts, s)
					}
					if len(parts) > 0 {
						report(n.Pos(), filepath.Join(parts...))
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("walked only %d test files under %s; the walk is broken", files, root)
	}
}

// TestOutside checks the rule itself, so the walk above cannot pass for
// want of a working check.
func TestOutside(t *testing.T) {
	root := filepath.FromSlash("/repo")
	dir := filepath.FromSlash("/repo/webhook")
	for _, tc := range []struct {
		p    string
		flag bool
	}{
		{"../../shared/testdata/webhook-signature-vectors.json", true},
		{"../../other/file", true},
		{"../..", true},
		{"testdata/webhook-signature-vectors.json", false},
		{"../cmd/renderhook", false},
		{"/abs/shared/seeds/x.txt", true},
		{"a..b", false},
	} {
		if got := outside(root, dir, tc.p) != ""; got != tc.flag {
			t.Errorf("outside(%q) = %v, want %v", tc.p, got, tc.flag)
		}
	}
}
