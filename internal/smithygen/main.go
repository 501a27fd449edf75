// Command smithygen generates Go wire shapes, enums, input validators and
// operation bindings from the Smithy JSON model of an awsJson1_1 service:
//
//	go run ./internal/smithygen -model ../shared/aws-models/codepipeline-2015-07-09.json \
//		-overlay codepipeline/shape/overlay.json -out codepipeline/shape -package shape
//
// Each -overlay (a Smithy JSON AST, see mergeOverlay) adds shapes, members
// and operations that the model lacks, such as those of newer SDK models.
// It writes zz_shapes.go, zz_enums.go, zz_validate.go and zz_operations.go
// into -out. Documentation in the model is never copied. Whatever it had
// to work around (renamed identifiers, patterns Go's RE2 cannot express,
// which are then not enforced) is reported on stderr.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	model := flag.String("model", "", "path of the Smithy JSON AST model")
	out := flag.String("out", ".", "directory to write the generated files into")
	pkg := flag.String("package", "", "Go package name of the generated files")
	var overlays []string
	flag.Func("overlay", "path of a Smithy JSON AST merged into the model (repeatable)", func(p string) error {
		overlays = append(overlays, p)
		return nil
	})
	flag.Parse()
	if *model == "" || *pkg == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*model, overlays, *out, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "smithygen:", err)
		os.Exit(1)
	}
}

func run(modelPath string, overlays []string, out, pkg string) error {
	m, err := LoadModel(modelPath, overlays...)
	if err != nil {
		return err
	}
	g, err := NewGenerator(m, pkg)
	if err != nil {
		return err
	}
	files, err := g.Generate()
	if err != nil {
		return err
	}
	for _, n := range g.Notes {
		fmt.Fprintln(os.Stderr, "smithygen: note:", n)
	}
	for _, s := range g.Skipped {
		fmt.Fprintln(os.Stderr, "smithygen: pattern skipped:", s)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(out, f.Name), f.Content, 0o644); err != nil {
			return err
		}
	}
	return nil
}
