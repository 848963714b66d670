// Command modproxy writes a file-based Go module proxy holding every module
// of this repository at one version, as the Go module proxy would serve
// them once they are tagged: GOPROXY=file://DIR then resolves
// github.com/payhook/payhook/...@VERSION from the working tree, so that
// "go get" and "go install" of every module are proven before any tag
// exists. scripts/release-check runs it; see CONTRIBUTING.md.
//
//	go run ./tools/modproxy -version v0.1.0 -out /tmp/proxy [repo]
//
// It refuses a module whose go.mod holds a replace directive (go install
// refuses those) or requires another module of the repository at a version
// other than -version.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

func main() {
	version := flag.String("version", "", "the version every module is published at (vX.Y.Z)")
	out := flag.String("out", "", "the proxy's directory")
	flag.Parse()
	repo := "."
	if flag.NArg() > 0 {
		repo = flag.Arg(0)
	}
	if err := run(repo, *version, *out); err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

// mod is one module of the repository.
type mod struct {
	dir  string
	path string
	file *modfile.File
	data []byte
}

func run(repo, version, out string) error {
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return fmt.Errorf("-version %q is not a canonical semantic version such as v0.1.0", version)
	}
	if out == "" {
		return errors.New("-out is required")
	}
	mods, err := findModules(repo)
	if err != nil {
		return err
	}
	ours := map[string]bool{}
	for _, m := range mods {
		ours[m.path] = true
	}
	var problems []string
	for _, m := range mods {
		for _, r := range m.file.Replace {
			problems = append(problems, fmt.Sprintf("%s: replace %s => %s (go install refuses a module with replace directives; the repository's go.work ties its modules together)",
				rel(repo, m.dir), r.Old.Path, r.New.Path))
		}
		for _, r := range m.file.Require {
			if ours[r.Mod.Path] && r.Mod.Version != version {
				problems = append(problems, fmt.Sprintf("%s: requires %s %s, not %s", rel(repo, m.dir), r.Mod.Path, r.Mod.Version, version))
			}
		}
	}
	if len(problems) > 0 {
		return errors.New("the modules cannot be published as they are:\n  " + strings.Join(problems, "\n  "))
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	for _, m := range mods {
		esc, err := module.EscapePath(m.path)
		if err != nil {
			return err
		}
		dir := filepath.Join(out, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		zf, err := os.Create(filepath.Join(dir, version+".zip"))
		if err != nil {
			return err
		}
		err = modzip.CreateFromDir(zf, module.Version{Path: m.path, Version: version}, m.dir)
		if cerr := zf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m.path, err)
		}
		for name, data := range map[string][]byte{version + ".mod": m.data, version + ".info": info, "list": []byte(version + "\n")} {
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				return err
			}
		}
		fmt.Println(m.path)
	}
	return nil
}

// findModules returns every module below repo, but for those under
// testdata, in path order.
func findModules(repo string) ([]mod, error) {
	var mods []mod
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules" || (strings.HasPrefix(d.Name(), ".") && p != repo)) {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := modfile.Parse(p, data, nil)
		if err != nil {
			return err
		}
		mods = append(mods, mod{dir: filepath.Dir(p), path: f.Module.Mod.Path, file: f, data: bytes.Clone(data)})
		return nil
	})
	sort.Slice(mods, func(i, j int) bool { return mods[i].path < mods[j].path })
	return mods, err
}

func rel(base, p string) string {
	if r, err := filepath.Rel(base, p); err == nil {
		return r
	}
	return p
}
