package artifacts

import (
	"context"
	"strings"
)

// ListOptions select the keys a List returns.
type ListOptions struct {
	Prefix, Delimiter, After string
	// Max is the most keys and common prefixes returned; 0 means 1000.
	Max int
}

// Listing is one page of a List.
type Listing struct {
	Objects        []Object
	CommonPrefixes []string
	Truncated      bool
	// Next is the last key or common prefix returned: pass it as After
	// to continue.
	Next string
}

// defaultMax is S3's default and largest page of keys.
const defaultMax = 1000

// listBatch bounds the rows one query of a List reads: after a common
// prefix the rest of a batch is dropped.
const listBatch = 128

// afterAll is a byte no UTF-8 string holds: every key starting with P is
// less than P+afterAll, every greater key that does not start with P is
// greater.
const afterAll = "\xff"

// List lists keys > After with Prefix in UTF-8 byte order; with a Delimiter,
// keys sharing the prefix up to the delimiter roll up into one CommonPrefix
// (counted once against Max). Continuing after a common prefix skips every
// key it rolled up. ErrNoSuchBucket when the bucket does not exist.
func (s *Store) List(ctx context.Context, bucket string, opt ListOptions) (Listing, error) {
	max := opt.Max
	if max <= 0 {
		max = defaultMax
	}
	var l Listing
	err := s.idx.View(ctx, func(tx IndexTx) error {
		l = Listing{}
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		after := opt.After
		if cp, ok := commonPrefix(after, opt.Prefix, opt.Delimiter); ok && cp == after {
			after += afterAll
		}
		for {
			limit := min(max-l.count()+1, listBatch)
			recs, err := tx.ListObjects(bucket, opt.Prefix, after, limit)
			if err != nil {
				return err
			}
			rolled := false
			for _, r := range recs {
				if l.count() == max {
					l.Truncated = true
					return nil
				}
				if cp, ok := commonPrefix(r.Key, opt.Prefix, opt.Delimiter); ok {
					// The keys it rolls up are skipped by asking again.
					l.CommonPrefixes = append(l.CommonPrefixes, cp)
					l.Next, after, rolled = cp, cp+afterAll, true
					break
				}
				l.Objects = append(l.Objects, r.Object)
				l.Next, after = r.Key, r.Key
			}
			if !rolled && len(recs) < limit {
				return nil
			}
		}
	})
	return l, err
}

func (l *Listing) count() int { return len(l.Objects) + len(l.CommonPrefixes) }

// commonPrefix returns the common prefix key rolls up into: the prefix and
// what follows it up to and including the first delimiter.
func commonPrefix(key, prefix, delim string) (string, bool) {
	if delim == "" || !strings.HasPrefix(key, prefix) {
		return "", false
	}
	i := strings.Index(key[len(prefix):], delim)
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}
