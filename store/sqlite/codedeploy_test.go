package sqlite_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/pipewright/pipewright/codedeploy"
)

func cdUpdate(t *testing.T, s codedeploy.Store, fn func(codedeploy.Tx) error) error {
	t.Helper()
	return s.Update(context.Background(), fn)
}

func cdNames(t *testing.T, s codedeploy.Store, kind codedeploy.Kind, scope string) []string {
	t.Helper()
	var names []string
	err := s.View(context.Background(), func(tx codedeploy.Tx) error {
		rs, err := tx.List(kind, scope)
		for _, r := range rs {
			names = append(names, r.Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestCodeDeployRecords(t *testing.T) {
	s := open(t).CodeDeploy()
	app := &codedeploy.Record{Key: codedeploy.Key{Kind: codedeploy.KindApplication, Name: "web"}, Doc: []byte(`{"v":1}`)}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Put(app) }); err != nil || app.RowVersion != 1 {
		t.Fatalf("Put new: %v, row version %d", err, app.RowVersion)
	}
	again := &codedeploy.Record{Key: app.Key, Doc: []byte(`{}`)}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Put(again) }); !errors.Is(err, codedeploy.ErrExists) {
		t.Fatalf("Put of a taken key: %v, want ErrExists", err)
	}

	// Compare-and-set: a stale copy cannot overwrite or delete.
	stale := *app
	app.Doc = []byte(`{"v":2}`)
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Put(app) }); err != nil || app.RowVersion != 2 {
		t.Fatalf("Put update: %v, row version %d", err, app.RowVersion)
	}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Put(&stale) }); !errors.Is(err, codedeploy.ErrConflict) {
		t.Fatalf("Put of a stale copy: %v, want ErrConflict", err)
	}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Delete(&stale) }); !errors.Is(err, codedeploy.ErrConflict) {
		t.Fatalf("Delete of a stale copy: %v, want ErrConflict", err)
	}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Rename(&stale, "x") }); !errors.Is(err, codedeploy.ErrConflict) {
		t.Fatalf("Rename of a stale copy: %v, want ErrConflict", err)
	}

	// Scoped records, moved and deleted with their scope.
	for _, k := range []codedeploy.Key{{Kind: codedeploy.KindGroup, Scope: "web", Name: "b"}, {Kind: codedeploy.KindGroup, Scope: "web", Name: "a"},
		{Kind: codedeploy.KindRevision, Scope: "web", Name: "r"}, {Kind: codedeploy.KindGroup, Scope: "api", Name: "a"}} {
		if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Put(&codedeploy.Record{Key: k, Doc: []byte(`{}`)}) }); err != nil {
			t.Fatal(err)
		}
	}
	if got := cdNames(t, s, codedeploy.KindGroup, "web"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("groups of web = %v", got)
	}
	err := cdUpdate(t, s, func(tx codedeploy.Tx) error {
		if err := tx.Rename(app, "site"); err != nil {
			return err
		}
		return tx.MoveScope("web", "site")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := cdNames(t, s, codedeploy.KindGroup, "site"); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("groups after the move = %v", got)
	}
	if got := cdNames(t, s, codedeploy.KindApplication, ""); !slices.Equal(got, []string{"site"}) {
		t.Fatalf("applications after the rename = %v", got)
	}
	api := &codedeploy.Record{Key: codedeploy.Key{Kind: codedeploy.KindApplication, Name: "api"}, Doc: []byte(`{}`)}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Put(api) }); err != nil {
		t.Fatal(err)
	}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.Rename(api, "site") }); !errors.Is(err, codedeploy.ErrExists) {
		t.Fatalf("Rename onto a taken name: %v, want ErrExists", err)
	}
	if err := cdUpdate(t, s, func(tx codedeploy.Tx) error { return tx.DeleteScope("site") }); err != nil {
		t.Fatal(err)
	}
	if got := cdNames(t, s, codedeploy.KindRevision, "site"); len(got) != 0 {
		t.Fatalf("revisions after DeleteScope = %v", got)
	}
	if got := cdNames(t, s, codedeploy.KindGroup, "api"); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("another scope's groups after DeleteScope = %v", got)
	}

	// A failed transaction leaves nothing of its writes.
	boom := errors.New("boom")
	err = cdUpdate(t, s, func(tx codedeploy.Tx) error {
		if err := tx.Put(&codedeploy.Record{Key: codedeploy.Key{Kind: codedeploy.KindConfig, Name: "c"}, Doc: []byte(`{}`)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	err = s.View(context.Background(), func(tx codedeploy.Tx) error {
		_, err := tx.Get(codedeploy.Key{Kind: codedeploy.KindConfig, Name: "c"})
		return err
	})
	if !errors.Is(err, codedeploy.ErrNotFound) {
		t.Fatalf("Get after a rolled back Put: %v, want ErrNotFound", err)
	}
}
