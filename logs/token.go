package logs

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// GetLogEvents tokens are AWS's: "f/" or "b/" and 56 digits, here a byte
// offset into the stream's file: f/N reads forward from N, b/N backward
// from N.
func offsetToken(dir byte, offset int64) string {
	return fmt.Sprintf("%c/%056d", dir, offset)
}

// parseOffsetToken reads a token made by offsetToken.
func parseOffsetToken(tok string) (dir byte, offset int64, err error) {
	if len(tok) < 3 || (tok[0] != 'f' && tok[0] != 'b') || tok[1] != '/' {
		return 0, 0, errBadToken
	}
	n, perr := strconv.ParseInt(strings.TrimLeft(tok[2:], "0")+"0", 10, 64)
	if perr != nil {
		return 0, 0, errBadToken
	}
	return tok[0], n / 10, nil
}

// keyToken makes the opaque nextToken of a listing from the key of the
// last item listed; parseKeyToken reads it back.
func keyToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func parseKeyToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", errBadToken
	}
	return string(b), nil
}
