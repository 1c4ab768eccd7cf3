package features

import (
	"fmt"
	"strings"
)

// MarkdownTable returns the definitions of every feature as a markdown
// table (DEFINITIONS.md holds its output; REPRODUCE.md can include it).
func MarkdownTable() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Image features (Table 2 of Taylor et al., LCTES 2018)\n\n")
	fmt.Fprintf(&b, "Generated from the code by `features.MarkdownTable` (version `%s`; regenerate with\n", Version)
	fmt.Fprintf(&b, "`go test ./features -run TestDefinitionsFile -update`). Every feature is computed on the\n")
	fmt.Fprintf(&b, "working image: the decoded image as 8-bit BGR, shrunk so its longest side is at most MaxSide\n")
	fmt.Fprintf(&b, "(default %d px; Gaussian-pyramid halvings while at least twice MaxSide, then one bilinear step;\n", DefaultMaxSide)
	fmt.Fprintf(&b, "smaller images are not enlarged). A JPEG whose longest side is at least twice MaxSide is decoded\n")
	fmt.Fprintf(&b, "at 1/2, 1/4 or 1/8 scale by libjpeg's DCT scaling (the largest reduction that keeps the longest side\n")
	fmt.Fprintf(&b, "at least MaxSide; `features.Reduction`) before that shrink: this is part of the definition, as it\n")
	fmt.Fprintf(&b, "is not pixel for pixel a full decode (on imagenet-sample, n_keypoints differs by up to 235).\n")
	fmt.Fprintf(&b, "L is the working image's longest side.\n\n")
	b.WriteString("| # | name | kind | definition |\n|---|---|---|---|\n")
	for i, f := range registry() {
		fmt.Fprintf(&b, "| %d | `%s` | %s | %s |\n", i+1, f.Name, f.Kind, strings.ReplaceAll(f.Definition, "|", `\|`))
	}
	return b.String()
}
