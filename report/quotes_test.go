package report

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestClaimsQuoteThePaper checks experiments/claims.yaml against the
// paper's text in ../shared/paper: every claim of the paper has a section
// and a quote, and every piece of every quote is in the text (markdown
// escapes, emphasis and whitespace aside). It fails when the text is
// missing: the quotes are what the claims rest on.
func TestClaimsQuoteThePaper(t *testing.T) {
	texts, err := filepath.Glob(filepath.Join("..", "..", "shared", "paper", "*.txt"))
	if err != nil || len(texts) == 0 {
		t.Fatalf("no paper text in ../shared/paper (the repository's sibling shared/paper/*.txt): %v", err)
	}
	var paper strings.Builder
	for _, p := range texts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		paper.Write(b)
		paper.WriteString("\n")
	}
	f, err := ReadClaimsFile(filepath.Join("..", "experiments", "claims.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	claims := f.Claims
	if f.Setting.Quote == "" {
		t.Error("claims.yaml: no setting (the paper's platform and models, quoted) for figures' labels")
	}
	// The setting's quote is checked as a claim's would be.
	for _, m := range MissingQuotes([]Claim{{ID: "setting", Quote: f.Setting.Quote}}, paper.String()) {
		t.Error(m)
	}
	quoted := 0
	for _, c := range claims {
		switch {
		case c.BeyondPaper && c.Quote != "":
			t.Errorf("%s: beyond_paper, yet quotes the paper", c.ID)
		case !c.BeyondPaper && (c.Quote == "" || c.Section == ""):
			t.Errorf("%s: a claim of the paper needs its section and quote", c.ID)
		case !c.BeyondPaper:
			quoted++
		}
	}
	for _, m := range MissingQuotes(claims, paper.String()) {
		t.Error(m)
	}
	if quoted < 40 {
		t.Errorf("%d claims quote the paper; issue 9 asks for at least 40", quoted)
	}
}

func TestMissingQuotes(t *testing.T) {
	paper := "We use *new*, *unseen* inputs;\nMobileNet\\_v1\\_025 is  6.13x faster than ResNet.\n"
	claims := []Claim{
		{ID: "ok", Quote: "We use new, unseen inputs"},
		{ID: "joined", Quote: "We use new, unseen ... MobileNet_v1_025 is 6.13x faster"},
		{ID: "escaped", Quote: `MobileNet\_v1\_025 is 6.13x faster than ResNet.`},
		{ID: "changed", Quote: "MobileNet_v1_025 is 6.14x faster"},
		{ID: "case", Quote: "we use new, unseen inputs"},
		{ID: "short", Quote: "We use ... 6.13x faster"},
		{ID: "unquoted"},
	}
	got := MissingQuotes(claims, paper)
	var ids []string
	for _, m := range got {
		ids = append(ids, strings.SplitN(m, ":", 2)[0])
	}
	if want := []string{"changed", "case", "short", "short"}; !slices.Equal(ids, want) {
		t.Errorf("missing quotes %q, want ids %v", got, want)
	}
}
