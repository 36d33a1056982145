package uplink

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"vakt/hub/uplink/sia"
)

// TestEveryHubCodeHasSIALetters: every Contact ID code the hub reports (each
// constant of type hub.Code in the hub's source) can be sent on a SIA-DCS path,
// so that no fault or alarm is refused there for want of its letters.
func TestEveryHubCodeHasSIALetters(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join("..", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var codes []int
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok || vs.Type == nil || len(vs.Values) != len(vs.Names) {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				return true
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					t.Errorf("%s: a Code that is not a number", fset.Position(v.Pos()))
					continue
				}
				n, _ := constant.Int64Val(constant.MakeFromLiteral(lit.Value, lit.Kind, 0))
				codes = append(codes, int(n))
			}
			return true
		})
	}
	if len(codes) < 30 {
		t.Fatalf("found only %d hub codes: %v", len(codes), codes)
	}
	for _, c := range codes {
		if _, ok := sia.LookupCID(c); !ok {
			t.Errorf("Contact ID %d has no SIA letters: it cannot be sent on a SIA-DCS path", c)
		}
	}
}
