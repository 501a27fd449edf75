package codepipeline

import (
	"crypto/rand"
	"os"
)

// storeArtifact writes an output artifact into the pipeline's artifact
// bucket under a key formed as AWS forms it: PIPELINE(20)/ARTIFACT(10)/RANDOM.
func (s *Service) storeArtifact(bucket string, r *ActionRun, name string, write func(*os.File) error) (ArtifactRef, error) {
	if err := s.cfg.Artifacts.EnsureBucket(bucket); err != nil {
		return ArtifactRef{}, err
	}
	tmp, err := os.CreateTemp(s.cfg.TempDir, "artifact-*.zip")
	if err != nil {
		return ArtifactRef{}, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := write(tmp); err != nil {
		return ArtifactRef{}, err
	}
	if _, err := tmp.Seek(0, 0); err != nil {
		return ArtifactRef{}, err
	}
	key := artifactKey(r.Pipeline, name)
	if _, err := s.cfg.Artifacts.Put(bucket, key, tmp); err != nil {
		return ArtifactRef{}, err
	}
	return ArtifactRef{Name: name, Bucket: bucket, Key: key}, nil
}

// artifactKey is a new object key for an artifact, formed as AWS forms it.
func artifactKey(pipeline, artifact string) string {
	return truncate(pipeline, 20) + "/" + truncate(artifact, 10) + "/" + randomKey(7)
}

// artifactPath is the file holding an artifact's content.
func (s *Service) artifactPath(ref ArtifactRef) (string, error) {
	return s.cfg.Artifacts.Path(ref.Bucket, ref.Key)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomKey(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return string(b)
}
