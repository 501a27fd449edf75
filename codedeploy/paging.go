package codedeploy

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// pageSize is how many names a list operation answers at most at once.
const pageSize = 100

// tokenPrefix marks pipewright's next tokens, which are opaque to clients.
const tokenPrefix = "pw1:"

// page returns the part of items that a request with token asks for and
// the token of the part after it ("" when it is the last). Tokens are
// offsets into the list; a token that is not one of page's answers
// InvalidNextTokenException.
func page[T any](items []T, token *string) ([]T, *string, error) {
	start := 0
	if token != nil && *token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(*token)
		n, perr := strconv.Atoi(strings.TrimPrefix(string(raw), tokenPrefix))
		if err != nil || perr != nil || !strings.HasPrefix(string(raw), tokenPrefix) || n < 0 || n > len(items) {
			return nil, nil, apiError(excInvalidNextToken, "The next token was specified in an invalid format.")
		}
		start = n
	}
	end := min(start+pageSize, len(items))
	if end == len(items) {
		return items[start:end], nil, nil
	}
	next := base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.Itoa(end)))
	return items[start:end], &next, nil
}
