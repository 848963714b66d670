package payhook_test

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// providerNames are the provider packages under providers/.
var providerNames = []string{"kazawallet", "kkiapay", "kasperopay"}

// typeCheck type-checks src, a file of package main, against this module's
// packages, from source.
func typeCheck(t *testing.T, imp types.Importer, src string) error {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&types.Config{Importer: imp}).Check("x", fset, []*ast.File{f}, nil)
	return err
}

// sourceImporter returns an importer of this module's packages, from
// source, or skips the test without a go command (go/build asks it).
func sourceImporter(t *testing.T) types.Importer {
	t.Helper()
	if testing.Short() {
		t.Skip("type-checks the providers from source")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	return sharedImporter()
}

// sharedImporter is one source importer for every test of the package: it
// keeps what it has type-checked (the standard library included), which
// takes most of a test's time. The tests that use it do not run in
// parallel.
var sharedImporter = sync.OnceValue(func() types.Importer {
	return importer.ForCompiler(token.NewFileSet(), "source", nil)
})

// TestMisplacedOptionsDoNotCompile (issue 9): each provider's New takes
// its Option and NewClient its ClientOption; one given to the other
// constructor is a compile error, not a run-time one, nor ignored.
func TestMisplacedOptionsDoNotCompile(t *testing.T) {
	imp := sourceImporter(t)
	const header = `package x
import (
	"github.com/payhook/payhook/providers/kazawallet"
	"github.com/payhook/payhook/providers/kkiapay"
	"github.com/payhook/payhook/providers/kasperopay"
)
var _, _, _ = kazawallet.New, kkiapay.New, kasperopay.New
`
	if err := typeCheck(t, imp, header+`
var _, _ = kazawallet.New("k", "s", kazawallet.WithSecrets(kazawallet.KeyPair{APIKey: "k2", APISecret: "s2"}))
var _, _ = kazawallet.NewClient("k", kazawallet.WithBaseURL("https://x"), kazawallet.WithTimeout(1))
var _, _ = kkiapay.New("s", kkiapay.WithSecrets("s2"), kkiapay.WithClock(nil))
var _, _ = kkiapay.NewClient("a", "b", "c", kkiapay.WithSandbox(), kkiapay.WithTimeout(1))
var _, _ = kasperopay.New(kasperopay.WithSecrets("s", "s2"), kasperopay.WithMaxAge(1))
var _, _ = kasperopay.NewClient(kasperopay.WithBaseURL("https://x"), kasperopay.WithStatusPath("/p/"))
`); err != nil {
		t.Fatalf("the options in their places do not compile: %v", err)
	}
	for _, misplaced := range []string{
		`var _, _ = kazawallet.New("k", "s", kazawallet.WithBaseURL("https://x"))`,
		`var _, _ = kazawallet.NewClient("k", kazawallet.WithSecrets())`,
		`var _, _ = kkiapay.New("s", kkiapay.WithSandbox())`,
		`var _, _ = kkiapay.New("s", kkiapay.WithBaseURL("https://x"))`,
		`var _, _ = kkiapay.NewClient("a", "b", "c", kkiapay.WithSecrets("s2"))`,
		`var _, _ = kkiapay.NewClient("a", "b", "c", kkiapay.WithClock(nil))`,
		`var _, _ = kasperopay.New(kasperopay.WithBaseURL("https://x"))`,
		`var _, _ = kasperopay.New(kasperopay.WithTimeout(1))`,
		`var _, _ = kasperopay.NewClient(kasperopay.WithReplayWindow(1))`,
		`var _, _ = kasperopay.NewClient(kasperopay.WithSecrets("s"))`,
		`var _, _ = kasperopay.NewClient(kasperopay.WithoutConfirmation())`,
	} {
		if err := typeCheck(t, imp, header+misplaced); err == nil {
			t.Errorf("compiles: %s", misplaced)
		} else if !strings.Contains(err.Error(), "cannot use") {
			t.Errorf("%s: %v", misplaced, err)
		}
	}
}

// TestProvidersHaveOneShape (issue 9): the three provider packages have
// the same files and the same exported words, as CONTRIBUTING.md lists
// them, and a test kit each.
func TestProvidersHaveOneShape(t *testing.T) {
	imp := sourceImporter(t)
	for _, name := range providerNames {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("providers", name)
			for _, f := range []string{"doc.go", name + ".go", "event.go", "sign.go", "send.go", "options.go", "client.go",
				name + "test/doc.go", name + "test/sender.go", name + "test/api.go"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("no %s", f)
				}
			}
			pkg, err := imp.Import("github.com/payhook/payhook/providers/" + name)
			if err != nil {
				t.Fatal(err)
			}
			scope := pkg.Scope()
			lookup := func(n string) types.Object {
				o := scope.Lookup(n)
				if o == nil {
					t.Errorf("no %s", n)
				}
				return o
			}
			named := func(n string) *types.Named {
				if o, ok := lookup(n).(*types.TypeName); ok {
					return o.Type().(*types.Named)
				}
				t.Errorf("%s is not a type", n)
				return nil
			}
			option, clientOption, provider, client := named("Option"), named("ClientOption"), named("Provider"), named("Client")
			checkCtor := func(fn string, last, ret *types.Named) {
				f, ok := lookup(fn).(*types.Func)
				if !ok || last == nil || ret == nil {
					t.Errorf("%s is not a func", fn)
					return
				}
				sig := f.Type().(*types.Signature)
				params := sig.Params()
				if !sig.Variadic() || !types.Identical(params.At(params.Len()-1).Type(), types.NewSlice(last)) {
					t.Errorf("%s does not end in ...%s: %s", fn, last.Obj().Name(), sig)
				}
				if sig.Results().Len() != 2 || !types.Identical(sig.Results().At(0).Type(), types.NewPointer(ret)) ||
					sig.Results().At(1).Type().String() != "error" {
					t.Errorf("%s does not return (*%s, error): %s", fn, ret.Obj().Name(), sig)
				}
			}
			checkCtor("New", option, provider)
			checkCtor("NewClient", clientOption, client)
			for _, fn := range []string{"Sign", "EventFrom", "WithSecrets"} {
				if _, ok := lookup(fn).(*types.Func); !ok {
					t.Errorf("%s is not a func", fn)
				}
			}
			if sender := named("Sender"); sender != nil {
				for _, m := range []string{"Body", "NewRequest", "Policy"} {
					if f, _, _ := types.LookupFieldOrMethod(sender, false, pkg, m); f == nil {
						t.Errorf("no Sender.%s", m)
					}
				}
			}
			if scope.Lookup("SignatureHeader") == nil && scope.Lookup("SignatureField") == nil {
				t.Error("neither SignatureHeader nor SignatureField")
			}
			eventType, event := named("EventType"), named("Event")
			if event == nil || eventType == nil {
				return
			}
			st := event.Underlying().(*types.Struct)
			fields := map[string]types.Type{}
			for f := range st.Fields() {
				fields[f.Name()] = f.Type()
			}
			if !types.Identical(fields["Type"], eventType) {
				t.Errorf("Event.Type is %v, not EventType", fields["Type"])
			}
			paid, _, _ := types.LookupFieldOrMethod(event, false, pkg, "Paid")
			if f, ok := paid.(*types.Func); !ok || f.Type().(*types.Signature).Results().At(0).Type().String() != "bool" {
				t.Error("no Event.Paid() bool")
			}
			local, _, _ := types.LookupFieldOrMethod(types.NewPointer(provider), false, pkg, "VerifiesLocally")
			if f, ok := local.(*types.Func); !ok || f.Type().(*types.Signature).Results().At(0).Type().String() != "bool" {
				t.Error("no Provider.VerifiesLocally() bool (payhook.LocalVerifier)")
			}
			confirm, _, _ := types.LookupFieldOrMethod(types.NewPointer(provider), false, pkg, "Confirm")
			if _, ok := fields["Confirmation"]; (confirm != nil) != ok {
				t.Errorf("Provider confirms: %t; Event.Confirmation: %t", confirm != nil, ok)
			}
			constants := 0
			for _, n := range scope.Names() {
				if c, ok := scope.Lookup(n).(*types.Const); ok && types.Identical(c.Type(), eventType) {
					constants++
				}
			}
			if constants == 0 {
				t.Error("no typed EventType constant")
			}
		})
	}
}

// TestPayhooktestKnowsNoProvider (issue 9): payhooktest is what every
// provider shares, as httptest knows no particular handler.
func TestPayhooktestKnowsNoProvider(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	out, err := exec.Command("go", "list", "-deps", "./payhooktest").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "/providers/") || strings.Contains(dep, "testify") {
			t.Errorf("payhooktest imports %s", dep)
		}
	}
}
