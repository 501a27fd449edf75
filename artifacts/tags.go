package artifacts

import "context"

// PutTags replaces the object's tags (nil or empty removes them); the
// object is otherwise unchanged.
func (s *Store) PutTags(ctx context.Context, bucket, key string, tags []Tag) error {
	if err := checkNames(bucket, key); err != nil {
		return err
	}
	return s.idx.Update(ctx, func(tx IndexTx) error {
		rec, err := getObject(tx, bucket, key)
		if err != nil {
			return err
		}
		rec.Tags, rec.TagCount = tags, len(tags)
		if len(tags) == 0 {
			rec.Tags = nil
		}
		return tx.PutObject(rec)
	})
}

// Tags returns the object's tags, in the order they were given.
func (s *Store) Tags(ctx context.Context, bucket, key string) ([]Tag, error) {
	rec, err := s.lookup(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return rec.Tags, nil
}

// DeleteTags removes the object's tags.
func (s *Store) DeleteTags(ctx context.Context, bucket, key string) error {
	return s.PutTags(ctx, bucket, key, nil)
}
