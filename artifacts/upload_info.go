package artifacts

import "context"

// Upload describes one multipart upload in progress: ErrNoSuchUpload when
// there is none of that id for bucket and key.
func (s *Store) Upload(ctx context.Context, bucket, key, uploadID string) (Upload, error) {
	u, err := s.viewUpload(ctx, bucket, key, uploadID)
	return u.Upload, err
}
