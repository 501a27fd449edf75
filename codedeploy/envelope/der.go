package envelope

import (
	"bytes"
	"slices"
)

// sortDER orders the encodings of a SET OF's elements as DER (X.690 11.6)
// requires: ascending, compared as octet strings, the shorter first when
// one is a prefix of the other (which bytes.Compare does).
func sortDER(elems [][]byte) {
	slices.SortFunc(elems, bytes.Compare)
}
