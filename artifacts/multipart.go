package artifacts

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"
)

const (
	// minPartSize is the smallest size of a part other than the last.
	minPartSize = 5 << 20
	// maxPartNumber is the highest part number.
	maxPartNumber = 10000
)

// CreateUpload starts a multipart upload of bucket/key. opt gives what the
// completed object will have (content type, headers, metadata, tags) and its
// checksum algorithm and type; its digests and size are not used.
func (s *Store) CreateUpload(ctx context.Context, bucket, key string, opt PutOptions) (Upload, error) {
	if err := checkNames(bucket, key); err != nil {
		return Upload{}, err
	}
	alg, typ := opt.ChecksumAlgorithm, opt.ChecksumType
	if alg != "" {
		if _, err := newChecksum(alg); err != nil {
			return Upload{}, err
		}
	}
	switch {
	case typ == "" && (alg == "" || alg == CRC64NVME):
		typ = FullObject
	case typ == "":
		typ = Composite
	case typ == FullObject && alg != "" && !isCRC(alg), typ == Composite && (alg == "" || alg == CRC64NVME), typ != FullObject && typ != Composite:
		return Upload{}, fmt.Errorf("%w: checksum type %q with algorithm %q", ErrInvalidArgument, typ, alg)
	}
	u := UploadRecord{
		Upload:      Upload{ID: newUploadID(), Bucket: bucket, Key: key, Initiated: time.Now().UTC(), ChecksumAlgorithm: alg, ChecksumType: typ},
		ContentType: opt.ContentType, Headers: opt.Headers, Metadata: opt.Metadata, Tags: opt.Tags,
	}
	err := s.idx.Update(ctx, func(tx IndexTx) error {
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		return tx.CreateUpload(u)
	})
	if err != nil {
		return Upload{}, err
	}
	return u.Upload, nil
}

// newUploadID returns a new upload id; ids sort in the order uploads were
// created.
func newUploadID() string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprintf("%016x%s", time.Now().UnixNano(), hex.EncodeToString(b[:]))
}

// getUpload returns the upload id of bucket/key: ErrNoSuchBucket, or
// ErrNoSuchUpload also when the id belongs to another key.
func getUpload(tx IndexTx, bucket, key, id string) (UploadRecord, error) {
	if _, err := getBucket(tx, bucket); err != nil {
		return UploadRecord{}, err
	}
	u, err := tx.GetUpload(id)
	if err == nil && (u.Bucket != bucket || u.Key != key) {
		err = ErrNoSuchUpload
	}
	if errors.Is(err, ErrNoSuchUpload) {
		return UploadRecord{}, fmt.Errorf("%w: %s", ErrNoSuchUpload, id)
	}
	return u, err
}

func (s *Store) viewUpload(ctx context.Context, bucket, key, id string) (UploadRecord, error) {
	if err := checkNames(bucket, key); err != nil {
		return UploadRecord{}, err
	}
	var u UploadRecord
	err := s.idx.View(ctx, func(tx IndexTx) (err error) {
		u, err = getUpload(tx, bucket, key, id)
		return err
	})
	return u, err
}

// UploadPart stores part number (1 to 10000) of an upload, replacing a part
// of that number: ErrNoSuchUpload, ErrInvalidArgument for the number, and
// the digest, size and body errors of PutObject. The part's checksum is of
// the upload's algorithm, or opt.ChecksumAlgorithm when the upload has
// none; opt.Checksum is checked against opt.ChecksumAlgorithm, or the
// upload's when that is "".
func (s *Store) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, body io.Reader, opt PutOptions) (Part, error) {
	if number < 1 || number > maxPartNumber {
		return Part{}, fmt.Errorf("%w: part number %d is not in 1..%d", ErrInvalidArgument, number, maxPartNumber)
	}
	u, err := s.viewUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return Part{}, err
	}
	alg, sentAlg := u.ChecksumAlgorithm, opt.ChecksumAlgorithm
	if sentAlg == "" {
		sentAlg = alg
	}
	if alg == "" {
		alg = sentAlg
	}
	d, err := newDigester(false, alg, sentAlg)
	if err != nil {
		return Part{}, err
	}
	id, err := s.streamContent(body, opt.Size, d, opt.digestCheck(d, sentAlg))
	if err != nil {
		return Part{}, err
	}
	p := PartRecord{
		Part: Part{Number: number, Size: d.n, ETag: d.md5Hex(), Checksum: d.checksum(alg), ChecksumAlgorithm: alg,
			Modified: time.Now().UTC()},
		Content: id,
	}
	var garbage []string
	err = s.idx.Update(ctx, func(tx IndexTx) error {
		garbage = nil
		if _, err := getUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		old, err := tx.GetPart(uploadID, number)
		if err != nil && !errors.Is(err, ErrInvalidPart) {
			return err
		}
		if err := tx.PutPart(uploadID, p); err != nil {
			return err
		}
		garbage, err = orphans(tx, old.Content)
		return err
	})
	if err != nil {
		s.removeContent(id)
		return Part{}, err
	}
	s.removeContent(garbage...)
	return p.Part, nil
}

// UploadPartCopy copies bytes [first,last] (last -1 = to the end) of an
// object into a part, as UploadPart stores a body: ErrInvalidRange for a
// range outside the object.
func (s *Store) UploadPartCopy(ctx context.Context, bucket, key, uploadID string, number int, srcBucket, srcKey string, first, last int64) (Part, error) {
	f, src, err := s.OpenObject(ctx, srcBucket, srcKey)
	if err != nil {
		return Part{}, err
	}
	defer f.Close()
	if last == -1 {
		last = src.Size - 1
	}
	n := last - first + 1
	if first < 0 || last >= src.Size || n < 0 || n == 0 && src.Size > 0 {
		return Part{}, fmt.Errorf("%w: bytes %d-%d of %d", ErrInvalidRange, first, last, src.Size)
	}
	return s.UploadPart(ctx, bucket, key, uploadID, number, io.NewSectionReader(f, first, n), PutOptions{Size: n})
}

// CompletedPart names a part of the object CompleteUpload makes.
type CompletedPart struct {
	Number int
	// ETag is the part's, quotes allowed.
	ETag string
	// Checksum, when not "", must be the part's checksum.
	Checksum string
}

// CompleteUpload makes the object of an upload from the given parts:
// ErrNoSuchUpload, ErrInvalidPart (no part, an unknown number, an ETag or
// checksum mismatch), ErrInvalidPartOrder (numbers not ascending),
// ErrEntityTooSmall (a part but the last under 5 MiB). The parts' content is
// concatenated into one content file (copy_file_range via io.Copy between
// files) and then read once for the object's MD5, SHA-256 and full-object
// checksum. The upload and its parts are gone once it returns nil.
func (s *Store) CompleteUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletedPart) (Object, error) {
	return s.CompleteUploadIf(ctx, bucket, key, uploadID, parts, Conditions{})
}

// CompleteUploadIf is CompleteUpload with preconditions on the object the
// upload replaces (ErrPreconditionFailed, and the upload stays).
func (s *Store) CompleteUploadIf(ctx context.Context, bucket, key, uploadID string, parts []CompletedPart, cond Conditions) (Object, error) {
	if len(parts) == 0 {
		return Object{}, fmt.Errorf("%w: no part given", ErrInvalidPart)
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return Object{}, fmt.Errorf("%w: part %d after part %d", ErrInvalidPartOrder, parts[i].Number, parts[i-1].Number)
		}
	}
	if err := checkNames(bucket, key); err != nil {
		return Object{}, err
	}
	var (
		u    UploadRecord
		recs []PartRecord
	)
	err := s.idx.View(ctx, func(tx IndexTx) (err error) {
		if u, err = getUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		recs, err = chosenParts(tx, uploadID, parts)
		return err
	})
	if err != nil {
		return Object{}, err
	}
	obj, err := s.assemble(u, recs)
	if err != nil {
		return Object{}, err
	}
	rec := Record{Object: obj, Tags: u.Tags}
	if rec.Content, err = s.concatenate(recs, &rec.Object); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// A part's file went: the upload was aborted or completed
			// meanwhile, or the part replaced.
			if _, verr := s.viewUpload(ctx, bucket, key, uploadID); verr != nil {
				return Object{}, verr
			}
			return Object{}, fmt.Errorf("%w: a part was replaced while completing", ErrInvalidPart)
		}
		return Object{}, err
	}
	err = s.commit(ctx, rec, cond, func(tx IndexTx) ([]string, error) {
		if _, err := getUpload(tx, bucket, key, uploadID); err != nil {
			return nil, err
		}
		now, err := chosenParts(tx, uploadID, parts)
		if err != nil {
			return nil, err
		}
		var released []string
		for i, p := range now {
			if p.Content != recs[i].Content {
				return nil, fmt.Errorf("%w: part %d was replaced while completing", ErrInvalidPart, p.Number)
			}
		}
		all, err := tx.ListParts(uploadID, 0, maxPartNumber)
		if err != nil {
			return nil, err
		}
		for _, p := range all {
			released = append(released, p.Content)
		}
		return released, tx.DeleteUpload(uploadID)
	})
	if err != nil {
		s.removeContent(rec.Content)
		return Object{}, err
	}
	return rec.Object, nil
}

// chosenParts returns the records of the completed parts, checked.
func chosenParts(tx IndexTx, uploadID string, parts []CompletedPart) ([]PartRecord, error) {
	recs := make([]PartRecord, len(parts))
	for i, cp := range parts {
		p, err := tx.GetPart(uploadID, cp.Number)
		if err != nil {
			if errors.Is(err, ErrInvalidPart) {
				return nil, fmt.Errorf("%w: no part %d", ErrInvalidPart, cp.Number)
			}
			return nil, err
		}
		if strings.Trim(cp.ETag, `"`) != p.ETag {
			return nil, fmt.Errorf("%w: part %d has ETag %q, not %q", ErrInvalidPart, cp.Number, p.ETag, cp.ETag)
		}
		if cp.Checksum != "" && cp.Checksum != p.Checksum {
			return nil, fmt.Errorf("%w: part %d has another checksum", ErrInvalidPart, cp.Number)
		}
		if i < len(parts)-1 && p.Size < minPartSize {
			return nil, fmt.Errorf("%w: part %d has %d bytes", ErrEntityTooSmall, cp.Number, p.Size)
		}
		recs[i] = p
	}
	return recs, nil
}

// assemble returns the object an upload's parts make, without the digests
// of its whole content: its ETag from the parts' MD5s and, for a composite
// checksum, its checksum from theirs.
func (s *Store) assemble(u UploadRecord, recs []PartRecord) (Object, error) {
	n := len(recs)
	em := md5.New()
	var size int64
	sizes := make([]int64, 0, n)
	for _, p := range recs {
		sizes = append(sizes, p.Size)
		b, err := hex.DecodeString(p.ETag)
		if err != nil {
			return Object{}, fmt.Errorf("artifacts: part %d: bad ETag %q", p.Number, p.ETag)
		}
		em.Write(b)
		size += p.Size
	}
	obj := Object{
		Bucket: u.Bucket, Key: u.Key, Size: size, Modified: time.Now().UTC(),
		ETag:        fmt.Sprintf("%s-%d", hex.EncodeToString(em.Sum(nil)), n),
		ContentType: u.ContentType, Headers: u.Headers, Metadata: u.Metadata,
		ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType, PartSizes: sizes, TagCount: len(u.Tags),
	}
	if obj.ChecksumAlgorithm == "" {
		obj.ChecksumAlgorithm = CRC64NVME
	}
	if obj.ChecksumType == Composite {
		h, err := newChecksum(obj.ChecksumAlgorithm)
		if err != nil {
			return Object{}, err
		}
		for _, p := range recs {
			b, err := base64.StdEncoding.DecodeString(p.Checksum)
			if err != nil || p.Checksum == "" {
				return Object{}, fmt.Errorf("%w: part %d has no %s checksum", ErrInvalidPart, p.Number, obj.ChecksumAlgorithm)
			}
			h.Write(b)
		}
		obj.Checksum = fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(h.Sum(nil)), n)
	}
	return obj, nil
}

// concatenate makes the content file of the parts' content in order and
// fills in obj's MD5, SHA-256 and (for a full-object checksum) checksum from
// reading it once.
func (s *Store) concatenate(recs []PartRecord, obj *Object) (string, error) {
	var full string
	if obj.ChecksumType == FullObject {
		full = obj.ChecksumAlgorithm
	}
	d, err := newDigester(true, full)
	if err != nil {
		return "", err
	}
	return s.newContent(func(f *os.File) error {
		for _, p := range recs {
			if err := appendFile(f, s.contentPath(p.Content)); err != nil {
				return fmt.Errorf("artifacts: part %d: %w", p.Number, err)
			}
		}
		if err := digestFile(f, d); err != nil {
			return err
		}
		if d.n != obj.Size {
			return fmt.Errorf("artifacts: the parts hold %d bytes, not %d", d.n, obj.Size)
		}
		obj.MD5, obj.SHA256 = d.md5Hex(), d.sha256Hex()
		if full != "" {
			obj.Checksum = d.checksum(full)
		}
		return nil
	})
}

// appendFile copies the file at path to the end of f (by copy_file_range
// where the system has it).
func appendFile(f *os.File, path string) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	_, err = io.Copy(f, src)
	return err
}

// AbortUpload discards an upload and its parts: ErrNoSuchUpload.
func (s *Store) AbortUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := checkNames(bucket, key); err != nil {
		return err
	}
	var garbage []string
	err := s.idx.Update(ctx, func(tx IndexTx) error {
		garbage = nil
		if _, err := getUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		all, err := tx.ListParts(uploadID, 0, maxPartNumber)
		if err != nil {
			return err
		}
		if err := tx.DeleteUpload(uploadID); err != nil {
			return err
		}
		ids := make([]string, len(all))
		for i, p := range all {
			ids[i] = p.Content
		}
		garbage, err = orphans(tx, ids...)
		return err
	})
	if err != nil {
		return err
	}
	s.removeContent(garbage...)
	return nil
}

// ListParts returns up to max (0 means 1000) parts of an upload numbered
// above after, by number, and whether more follow: ErrNoSuchUpload.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, after, max int) (parts []Part, truncated bool, err error) {
	if max <= 0 {
		max = defaultMax
	}
	if err := checkNames(bucket, key); err != nil {
		return nil, false, err
	}
	err = s.idx.View(ctx, func(tx IndexTx) error {
		if _, err := getUpload(tx, bucket, key, uploadID); err != nil {
			return err
		}
		recs, err := tx.ListParts(uploadID, after, max+1)
		if err != nil {
			return err
		}
		truncated = len(recs) > max
		parts = make([]Part, 0, min(len(recs), max))
		for _, p := range recs[:min(len(recs), max)] {
			parts = append(parts, p.Part)
		}
		return nil
	})
	return parts, truncated, err
}

// ListUploads returns up to max (0 means 1000) uploads of the bucket whose
// keys start with prefix, by key and then creation, after (keyMarker,
// idMarker) as S3's key-marker and upload-id-marker select, and whether
// more follow: ErrNoSuchBucket.
func (s *Store) ListUploads(ctx context.Context, bucket, prefix, keyMarker, idMarker string, max int) (ups []Upload, truncated bool, err error) {
	if max <= 0 {
		max = defaultMax
	}
	err = s.idx.View(ctx, func(tx IndexTx) error {
		if _, err := getBucket(tx, bucket); err != nil {
			return err
		}
		recs, err := tx.ListUploads(bucket, prefix, keyMarker, idMarker, max+1)
		if err != nil {
			return err
		}
		truncated = len(recs) > max
		ups = make([]Upload, 0, min(len(recs), max))
		for _, u := range recs[:min(len(recs), max)] {
			ups = append(ups, u.Upload)
		}
		return nil
	})
	return ups, truncated, err
}
