package sqlite_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pipewright/pipewright/artifacts"
)

func TestObjectIndex(t *testing.T) {
	ctx := context.Background()
	idx := open(t).Objects()
	keys := []string{"a", "a/b", "a\u007f", "aé", "a\U0010ffff", "b"} // in UTF-8 byte order
	err := idx.Update(ctx, func(tx artifacts.IndexTx) error {
		if err := tx.CreateBucket(artifacts.Bucket{Name: "bucket", Created: time.Unix(1, 5)}); err != nil {
			return err
		}
		if err := tx.CreateBucket(artifacts.Bucket{Name: "bucket"}); !errors.Is(err, artifacts.ErrBucketExists) {
			t.Errorf("second CreateBucket: %v", err)
		}
		for i, k := range slices.Backward(keys) {
			rec := artifacts.Record{Object: artifacts.Object{Bucket: "bucket", Key: k, Size: int64(i), Metadata: map[string]string{"k": k}}, Content: "c-" + k}
			if err := tx.PutObject(rec); err != nil {
				return err
			}
		}
		return tx.PutObject(artifacts.Record{Object: artifacts.Object{Bucket: "bucket", Key: "a", Size: 99}, Content: "c-a2"})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = idx.View(ctx, func(tx artifacts.IndexTx) error {
		if b, err := tx.GetBucket("bucket"); err != nil || !b.Created.Equal(time.Unix(1, 5)) {
			t.Errorf("GetBucket = %+v, %v", b, err)
		}
		if _, err := tx.GetBucket("none"); !errors.Is(err, artifacts.ErrNoSuchBucket) {
			t.Errorf("GetBucket(none): %v", err)
		}
		all, err := tx.ListObjects("bucket", "", "", 100)
		if err != nil {
			return err
		}
		var got []string
		for _, r := range all {
			got = append(got, r.Key)
		}
		if !slices.Equal(got, keys) {
			t.Errorf("ListObjects = %q, want %q", got, keys)
		}
		if all[0].Size != 99 || all[0].Content != "c-a2" || all[1].Metadata["k"] != "a/b" {
			t.Errorf("records %+v %+v", all[0], all[1])
		}
		if some, _ := tx.ListObjects("bucket", "a", "a/b", 2); len(some) != 2 || some[0].Key != "a\u007f" {
			t.Errorf("ListObjects(a, after a/b, 2) = %+v", some)
		}
		if some, _ := tx.ListObjects("bucket", "a\U0010ffff", "", 10); len(some) != 1 {
			t.Errorf("ListObjects with a 4-byte prefix = %+v", some)
		}
		for id, want := range map[string]bool{"c-a2": true, "c-a": false, "c-b": true} {
			if named, err := tx.ContentNamed(id); err != nil || named != want {
				t.Errorf("ContentNamed(%s) = %v, %v", id, named, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = idx.Update(ctx, func(tx artifacts.IndexTx) error {
		if err := tx.DeleteBucket("bucket"); !errors.Is(err, artifacts.ErrBucketNotEmpty) {
			t.Errorf("DeleteBucket with objects: %v", err)
		}
		for _, k := range keys {
			if err := tx.DeleteObject("bucket", k); err != nil {
				return err
			}
		}
		if err := tx.DeleteObject("bucket", "a"); !errors.Is(err, artifacts.ErrNotFound) {
			t.Errorf("deleting a deleted object: %v", err)
		}
		u := artifacts.UploadRecord{Upload: artifacts.Upload{ID: "u1", Bucket: "bucket", Key: "k"}}
		if err := tx.CreateUpload(u); err != nil {
			return err
		}
		if err := tx.PutPart("u1", artifacts.PartRecord{Part: artifacts.Part{Number: 2, ETag: "e"}, Content: "p2"}); err != nil {
			return err
		}
		if named, _ := tx.ContentNamed("p2"); !named {
			t.Error("a part's content is not named")
		}
		if err := tx.DeleteBucket("bucket"); !errors.Is(err, artifacts.ErrBucketNotEmpty) {
			t.Errorf("DeleteBucket with an upload: %v", err)
		}
		if _, err := tx.GetPart("u1", 1); !errors.Is(err, artifacts.ErrInvalidPart) {
			t.Errorf("GetPart of a missing part: %v", err)
		}
		if err := tx.DeleteUpload("u1"); err != nil {
			return err
		}
		if named, _ := tx.ContentNamed("p2"); named {
			t.Error("a deleted upload's part is still named")
		}
		if _, err := tx.GetUpload("u1"); !errors.Is(err, artifacts.ErrNoSuchUpload) {
			t.Errorf("GetUpload after DeleteUpload: %v", err)
		}
		return tx.DeleteBucket("bucket")
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestObjectIndexRollsBack: an Update whose function fails changes nothing.
func TestObjectIndexRollsBack(t *testing.T) {
	ctx := context.Background()
	idx := open(t).Objects()
	boom := errors.New("boom")
	err := idx.Update(ctx, func(tx artifacts.IndexTx) error {
		if err := tx.CreateBucket(artifacts.Bucket{Name: "bucket"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	err = idx.View(ctx, func(tx artifacts.IndexTx) error {
		bs, err := tx.ListBuckets()
		if len(bs) != 0 {
			t.Errorf("buckets after a rolled back Update: %+v", bs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
