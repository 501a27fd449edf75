package artifacts

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

const (
	// maxKeyLen is S3's limit on the length of an object key, in bytes.
	maxKeyLen = 1024
	// maxSegmentLen bounds one escaped key segment so that it and the
	// names derived from it (sidecar ".m.<segment>") fit in NAME_MAX (255).
	maxSegmentLen = 250

	// tmpPrefix starts the names of files being written. Escaped key
	// segments never start with '.', so no key can name one of these.
	tmpPrefix = ".tmp-"
	// metaPrefix starts the names of metadata sidecars (".m.<segment>").
	metaPrefix = ".m."
)

// bucketDir validates a bucket name and returns the name of the directory
// that holds it under the store root.
//
// Accepted names are those CodePipeline accepts for artifactStore.location
// (^[a-zA-Z0-9\-\.]+$) that are also 3 to 63 characters long, like S3 bucket
// names. A name that already follows the strict S3 rules (lowercase letters,
// digits, '.' and '-', starting and ending with a letter or digit, no "..")
// is used as the directory name unchanged. Any other accepted name is mapped
// to "_" followed by the name with each uppercase letter X written as "_x"
// ("MyBucket" -> "__my_bucket", "-x-" -> "_-x-"): the mapping is injective,
// the result is all lowercase (so distinct buckets stay distinct on
// case-insensitive file systems) and never starts with '.' or '-'.
func bucketDir(name string) (string, error) {
	if len(name) < 3 || len(name) > 63 {
		return "", fmt.Errorf("%w: %q: must be 3 to 63 characters long", ErrInvalidBucketName, name)
	}
	strict := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 || (c == '.' && name[i-1] == '.') {
				strict = false
			}
		case 'A' <= c && c <= 'Z':
			strict = false
		default:
			return "", fmt.Errorf("%w: %q: only letters, digits, '.' and '-' are allowed", ErrInvalidBucketName, name)
		}
	}
	if strict {
		return name, nil
	}
	var b strings.Builder
	b.Grow(2 * len(name))
	b.WriteByte('_')
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// keyPath validates an S3 object key and returns its file path relative to
// the bucket directory.
//
// A key is valid when it is 1 to 1024 bytes of UTF-8 without NUL, does not
// start with '/', and has no "." or ".." segment. Every other S3 key works,
// including spaces, '%', '\\', unicode, empty segments ("a//b") and a
// trailing slash ("folder/"). The key's '/'-separated segments become
// directories and the last one the file name, escaped so that the mapping is
// injective and never yields a name the store uses for itself:
//
//   - '%' is written "%25";
//   - a leading '.' is written "%2E" (".env" -> "%2Eenv");
//   - an empty segment is written "%" ("folder/" -> "folder/%").
//
// Each escaped segment must be at most 250 bytes long.
func keyPath(key string) (string, error) {
	switch {
	case key == "":
		return "", fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > maxKeyLen:
		return "", fmt.Errorf("%w: key is longer than %d bytes", ErrInvalidKey, maxKeyLen)
	case key[0] == '/':
		return "", fmt.Errorf("%w: %q: absolute key", ErrInvalidKey, key)
	case strings.IndexByte(key, 0) >= 0:
		return "", fmt.Errorf("%w: %q: key contains NUL", ErrInvalidKey, key)
	case !utf8.ValidString(key):
		return "", fmt.Errorf("%w: %q: key is not valid UTF-8", ErrInvalidKey, key)
	}
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i, seg := range strings.Split(key, "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("%w: %q: key contains a %q segment", ErrInvalidKey, key, seg)
		}
		if i > 0 {
			b.WriteByte(filepath.Separator)
		}
		start := b.Len()
		escapeSegment(&b, seg)
		if b.Len()-start > maxSegmentLen {
			return "", fmt.Errorf("%w: %q: a segment is longer than %d bytes", ErrInvalidKey, key, maxSegmentLen)
		}
	}
	return b.String(), nil
}

func escapeSegment(b *strings.Builder, seg string) {
	if seg == "" {
		b.WriteByte('%')
		return
	}
	for i := 0; i < len(seg); i++ {
		switch c := seg[i]; {
		case c == '%':
			b.WriteString("%25")
		case c == '.' && i == 0:
			b.WriteString("%2E")
		default:
			b.WriteByte(c)
		}
	}
}
