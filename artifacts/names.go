package artifacts

import (
	"fmt"
	"net/netip"
	"unicode/utf8"
)

// maxKeyLen is S3's limit on the length of an object key, in bytes.
const maxKeyLen = 1024

// checkBucketName validates a bucket name as EnsureBucket accepts it: what
// CodePipeline accepts for artifactStore.location (^[a-zA-Z0-9\-\.]+$) that
// is also 3 to 63 characters long, like S3 bucket names.
func checkBucketName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("%w: %q: must be 3 to 63 characters long", ErrInvalidBucketName, name)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-':
		default:
			return fmt.Errorf("%w: %q: only letters, digits, '.' and '-' are allowed", ErrInvalidBucketName, name)
		}
	}
	return nil
}

// checkS3BucketName validates a bucket name by S3's rules, as CreateBucket
// does: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending
// with a letter or digit, no "..", and not an IPv4 address.
func checkS3BucketName(name string) error {
	if len(name) < 3 || len(name) > 63 {
		return fmt.Errorf("%w: %q: must be 3 to 63 characters long", ErrInvalidBucketName, name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case c == '.' || c == '-':
			if i == 0 || i == len(name)-1 {
				return fmt.Errorf("%w: %q: must start and end with a letter or digit", ErrInvalidBucketName, name)
			}
			if c == '.' && name[i-1] == '.' {
				return fmt.Errorf("%w: %q: two adjacent periods", ErrInvalidBucketName, name)
			}
		default:
			return fmt.Errorf("%w: %q: only lowercase letters, digits, '.' and '-' are allowed", ErrInvalidBucketName, name)
		}
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return fmt.Errorf("%w: %q: an IP address", ErrInvalidBucketName, name)
	}
	return nil
}

// checkKey validates an object key: any UTF-8 string of 1 to 1024 bytes.
func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidKey)
	case len(key) > maxKeyLen:
		return fmt.Errorf("%w: key is longer than %d bytes", ErrInvalidKey, maxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("%w: %q: key is not valid UTF-8", ErrInvalidKey, key)
	}
	return nil
}

// checkNames validates a bucket name (leniently) and a key.
func checkNames(bucket, key string) error {
	if err := checkBucketName(bucket); err != nil {
		return err
	}
	return checkKey(key)
}
