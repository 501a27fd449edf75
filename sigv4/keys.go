package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"strings"
	"sync"
)

// keyCacheSize bounds the derived-key cache. A key changes once a day per
// (secret, region, service), so a few entries per access key suffice.
const keyCacheSize = 256

type cacheKey struct{ secret, date, region, service string }

// keyCache memoizes SigV4 signing keys: four HMACs per request saved. It is
// safe for concurrent use; its zero value is empty and ready.
type keyCache struct {
	mu sync.RWMutex
	m  map[cacheKey][sha256.Size]byte
}

// get returns the signing key for the scope, deriving and caching it on a
// miss. When the cache is full an arbitrary entry is evicted.
func (c *keyCache) get(secret, date, region, service string) [sha256.Size]byte {
	k := cacheKey{secret, date, region, service}
	c.mu.RLock()
	key, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return key
	}
	key = deriveKey(secret, date, region, service)
	// The strings may point into request headers; keep copies instead.
	k = cacheKey{strings.Clone(secret), strings.Clone(date), strings.Clone(region), strings.Clone(service)}
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[cacheKey][sha256.Size]byte)
	}
	if len(c.m) >= keyCacheSize {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = key
	c.mu.Unlock()
	return key
}

// deriveKey is SigV4's kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date),
// region), service), "aws4_request").
func deriveKey(secret, date, region, service string) [sha256.Size]byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "aws4_request")
	var out [sha256.Size]byte
	copy(out[:], k)
	return out
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// hmacBlock prepares the HMAC-SHA256 inner pad for a 32-byte key in the
// first 64 bytes of dst, so that the message can be appended behind it and
// the whole hashed in one sha256.Sum256 call without allocating.
func hmacBlock(dst []byte, key *[sha256.Size]byte, pad byte) []byte {
	for i := range sha256.BlockSize {
		b := pad
		if i < len(key) {
			b ^= key[i]
		}
		dst = append(dst, b)
	}
	return dst
}

// signature computes HMAC-SHA256(key, stringToSign) where buf holds the
// inner pad (from hmacBlock with 0x36) followed by the string to sign.
func signature(key *[sha256.Size]byte, buf []byte) [sha256.Size]byte {
	inner := sha256.Sum256(buf)
	var outer [sha256.BlockSize + sha256.Size]byte
	hmacBlock(outer[:0], key, 0x5c)
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}
