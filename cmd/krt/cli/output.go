package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"sigs.k8s.io/controller-runtime/pkg/client"

	krtv1 "krt.dev/krt/api/v1alpha1"
)

// The -o formats, as kubectl names them.
const (
	outWide = "wide"
	outYAML = "yaml"
	outJSON = "json"
	outName = "name"
)

// outputFormat is an -o flag that knows the formats its command prints,
// so that a typo is refused while flags are parsed, before anything is
// sent to the API server, with the formats that would do.
type outputFormat struct {
	value   string
	allowed []string
}

func (o *outputFormat) String() string { return o.value }
func (o *outputFormat) Type() string   { return "format" }

func (o *outputFormat) Set(s string) error {
	if s != "" && !slices.Contains(o.allowed, s) {
		return fmt.Errorf("unknown output format %q: want one of %s", s, strings.Join(o.allowed, ", "))
	}
	o.value = s
	return nil
}

// addOutputFlag gives cmd -o with the formats it prints, which the shell
// completes too.
func addOutputFlag(cmd *cobra.Command, allowed ...string) *outputFormat {
	o := &outputFormat{allowed: allowed}
	cmd.Flags().VarP(o, "output", "o", "output format: "+strings.Join(allowed, ", ")+" (default: a table)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
	return o
}

// isTable tells the -o formats that print a table.
func isTable(output string) bool { return output == "" || output == outWide }

// column is one column of a kind's table.
type column[T any] struct {
	name string
	wide bool // shown only with -o wide
	cell func(obj *T, now time.Time) string
	// watchWidth is the width --watch keeps for the column from the start,
	// so that a row printed later with a longer value (a phase) still
	// lines up.
	watchWidth int
}

// objPtr is what a printable kind's pointer is: an API object.
type objPtr[T any] interface {
	*T
	client.Object
}

// printer prints one kind the kubectl way: a table, a wide table, or the
// objects as yaml or json. Each command that prints objects goes through
// one, so they all print the same way.
type printer[T any, P objPtr[T]] struct {
	kind    string // "Run"; its list is "RunList"
	columns []column[T]
	list    func(items []T) client.ObjectList
}

type printOptions struct {
	output        string
	allNamespaces bool // a NAMESPACE column first
	asList        bool // yaml and json as a List even for one object, as a list command's are
}

func (p *printer[T, P]) print(w io.Writer, o printOptions, items []T, now time.Time) error {
	switch o.output {
	case "", outWide:
		rows := [][]string{p.header(o)}
		for i := range items {
			rows = append(rows, p.row(&items[i], o, now))
		}
		return newGrid(rows).write(w, rows...)
	case outYAML, outJSON:
		return objectPrinter(o.output).PrintObj(p.object(items, o.asList), w)
	}
	return fmt.Errorf("unknown output format %q: want one of wide, yaml, json", o.output)
}

// object is what yaml and json print: the object itself, or a List of
// them, with apiVersion and kind set so the output can be applied or
// decoded again.
func (p *printer[T, P]) object(items []T, asList bool) runtime.Object {
	if items == nil {
		items = []T{} // an empty List has "items": [], as kubectl's
	}
	for i := range items {
		P(&items[i]).GetObjectKind().SetGroupVersionKind(krtv1.GroupVersion.WithKind(p.kind))
	}
	if len(items) == 1 && !asList {
		return P(&items[0])
	}
	list := p.list(items)
	list.GetObjectKind().SetGroupVersionKind(krtv1.GroupVersion.WithKind(p.kind + "List"))
	return list
}

func objectPrinter(output string) printers.ResourcePrinter {
	if output == outJSON {
		return &printers.JSONPrinter{}
	}
	return &printers.YAMLPrinter{}
}

// watchWidths are the columns' widths to keep for --watch.
func (p *printer[T, P]) watchWidths(o printOptions) []int {
	var out []int
	if o.allNamespaces {
		out = append(out, 0)
	}
	for _, c := range p.columns {
		if !c.wide || o.output == outWide {
			out = append(out, c.watchWidth)
		}
	}
	return out
}

func (p *printer[T, P]) header(o printOptions) []string {
	var out []string
	if o.allNamespaces {
		out = append(out, "NAMESPACE")
	}
	for _, c := range p.columns {
		if !c.wide || o.output == outWide {
			out = append(out, c.name)
		}
	}
	return out
}

func (p *printer[T, P]) row(obj *T, o printOptions, now time.Time) []string {
	var out []string
	if o.allNamespaces {
		out = append(out, P(obj).GetNamespace())
	}
	for _, c := range p.columns {
		if !c.wide || o.output == outWide {
			out = append(out, c.cell(obj, now))
		}
	}
	return out
}

// grid aligns cells in columns as tabwriter would, three spaces apart with
// the last column ragged, but keeps the widths it was made with, so that
// the rows --watch prints later line up under the table.
type grid struct{ widths []int }

func newGrid(rows [][]string, minWidths ...int) *grid {
	g := &grid{widths: minWidths}
	for _, row := range rows {
		for i, cell := range row {
			if i == len(g.widths) {
				g.widths = append(g.widths, 0)
			}
			g.widths[i] = max(g.widths[i], utf8.RuneCountInString(cell))
		}
	}
	return g
}

func (g *grid) write(w io.Writer, rows ...[]string) error {
	var b strings.Builder
	for _, row := range rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				width := 0
				if i < len(g.widths) {
					width = g.widths[i]
				}
				b.WriteString(strings.Repeat(" ", max(width-utf8.RuneCountInString(cell), 0)+3))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}
