package report

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	// A backslash before punctuation is a markdown escape (\_ in the text).
	mdEscape = regexp.MustCompile(`\\([[:punct:]])`)
	spaces   = regexp.MustCompile(`\s+`)
	// "..." or "…" joins pieces of a quote taken from different places.
	ellipsis = regexp.MustCompile(`\s*(?:\.\.\.|…)\s*`)
)

// normalizeQuoted makes the paper's text and a quote comparable: markdown
// escapes and emphasis (*) dropped, whitespace collapsed. Case and all
// other punctuation stay, so a quote must be the paper's words exactly.
func normalizeQuoted(s string) string {
	s = mdEscape.ReplaceAllString(s, "$1")
	s = strings.ReplaceAll(s, "*", "")
	return strings.TrimSpace(spaces.ReplaceAllString(s, " "))
}

// MissingQuotes returns, for every claim with a quote, the pieces of it
// that the paper's text does not hold, as "ID: piece (why)". A piece must
// have at least three words, so that it pins down a place in the text.
func MissingQuotes(claims []Claim, paper string) []string {
	text := normalizeQuoted(paper)
	var out []string
	for _, c := range claims {
		if c.Quote == "" {
			continue
		}
		for _, p := range ellipsis.Split(c.Quote, -1) {
			p = normalizeQuoted(p)
			switch {
			case len(strings.Fields(p)) < 3:
				out = append(out, fmt.Sprintf("%s: %q (fewer than three words)", c.ID, p))
			case !strings.Contains(text, p):
				out = append(out, fmt.Sprintf("%s: %q (not in the paper's text)", c.ID, p))
			}
		}
	}
	return out
}
