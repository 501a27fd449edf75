package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Figure (j): PutObject and GetObject of one big object over loopback, as
// a ratio of throughput to `cp` of the same file on the same disk in the
// same run, and the server's VmRSS above idle meanwhile.

const (
	targetS3Ratio    = 0.5
	targetS3GrowthKB = 64 * 1000 * 1000 / 1024
)

// s3Result is figure (j).
type s3Result struct {
	mb                 int
	rounds             int
	cp, put, get       time.Duration // medians
	idleKB             int
	putPeakKB, getPeak int
}

func (r *s3Result) putRatio() float64 { return r.cp.Seconds() / r.put.Seconds() }
func (r *s3Result) getRatio() float64 { return r.cp.Seconds() / r.get.Seconds() }

// newS3Client is aws-sdk-go-v2's S3 client as its default configuration
// makes it (config.LoadDefaultConfig asks for checksums "when supported":
// a CRC32 with every upload, checked on every full download).
func newS3Client(url string) *s3.Client {
	return s3.New(s3.Options{BaseEndpoint: aws.String(url), Region: region, UsePathStyle: true, RetryMaxAttempts: 1,
		Credentials:                credentials.NewStaticCredentialsProvider(benchKey, benchSecret, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported})
}

// benchS3 writes an object of size MB (10^6 bytes) of random bytes under the
// temporary directory (the disk of the server's data), then, rounds times:
// cp of the file, PutObject of it (the SDK's defaults: a seekable body),
// GetObject of it into a file on the same disk; it reports the medians.
func (b *bench) benchS3(ctx context.Context, size, rounds int) (*s3Result, error) {
	client := newS3Client(b.srv.url)
	const bucket = "pwbench-s3"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return nil, fmt.Errorf("CreateBucket: %w", err)
	}
	src := filepath.Join(b.tmp, "s3-object")
	if err := writeRandom(src, int64(size)*1000*1000); err != nil {
		return nil, err
	}
	defer os.Remove(src)
	res := &s3Result{mb: size, rounds: rounds}
	var err error
	if _, err = waitQuiet(ctx, 30*time.Second); err != nil {
		return nil, err
	}
	if res.idleKB, err = b.srv.rssKB(); err != nil {
		return nil, err
	}
	var cps, puts, gets []time.Duration
	for i := 0; i < rounds; i++ {
		dst := filepath.Join(b.tmp, "s3-copy")
		t0 := time.Now()
		if out, err := exec.CommandContext(ctx, "cp", src, dst).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("cp: %v: %s", err, out)
		}
		cps = append(cps, time.Since(t0))
		os.Remove(dst)

		sampler := b.sampleRSS(50 * time.Millisecond)
		t0 = time.Now()
		err := putFile(ctx, client, bucket, src)
		puts = append(puts, time.Since(t0))
		peak, _ := sampler.end()
		res.putPeakKB = max(res.putPeakKB, peak)
		if err != nil {
			return nil, fmt.Errorf("PutObject: %w", err)
		}

		sampler = b.sampleRSS(50 * time.Millisecond)
		t0 = time.Now()
		n, err := getFile(ctx, client, bucket, dst)
		gets = append(gets, time.Since(t0))
		peak, _ = sampler.end()
		res.getPeak = max(res.getPeak, peak)
		os.Remove(dst)
		if err != nil {
			return nil, fmt.Errorf("GetObject: %w", err)
		}
		if n != int64(size)*1000*1000 {
			return nil, fmt.Errorf("GetObject gave %d bytes, want %d", n, int64(size)*1000*1000)
		}
		logf("(j) round %d: cp %v, PutObject %v, GetObject %v", i+1, cps[i].Round(time.Millisecond), puts[i].Round(time.Millisecond), gets[i].Round(time.Millisecond))
	}
	res.cp, res.put, res.get = median(cps), median(puts), median(gets)
	return res, nil
}

func putFile(ctx context.Context, client *s3.Client, bucket, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("big/object.bin"), Body: f})
	return err
}

func getFile(ctx context.Context, client *s3.Client, bucket, path string) (int64, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("big/object.bin")})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	// Read and write 1 MiB at a time: the client's copy loop is not what
	// the figure measures, and io.Copy's 32 KiB would add thousands of the
	// client's system calls to it.
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, out.Body, make([]byte, 1<<20))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

func writeRandom(path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, n); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// s3Rows adds the rows of figure (j) and returns its notes.
func (r *results) s3Rows(row func(fig, target, measured string, ok bool)) []string {
	j := r.j
	if j == nil {
		return nil
	}
	row(fmt.Sprintf("(j) PutObject of %d MB on loopback (aws-sdk-go-v2 defaults), throughput as a ratio to `cp` of the same file on the same disk; median of %d", j.mb, j.rounds),
		"≥ 0.5", fmt.Sprintf("%.2f (PutObject %v, cp %v)", j.putRatio(), j.put.Round(time.Millisecond), j.cp.Round(time.Millisecond)), j.putRatio() >= targetS3Ratio)
	row(fmt.Sprintf("(j) GetObject of the same object into a file on the same disk, as a ratio to `cp`; median of %d", j.rounds),
		"≥ 0.5", fmt.Sprintf("%.2f (GetObject %v, cp %v)", j.getRatio(), j.get.Round(time.Millisecond), j.cp.Round(time.Millisecond)), j.getRatio() >= targetS3Ratio)
	growth := max(j.putPeakKB, j.getPeak) - j.idleKB
	row("(j) server peak VmRSS above idle during the PutObject and GetObject calls (50 ms samples)", "≤ 64 MB",
		fmt.Sprintf("%+.1f MB (idle %.1f MB; peak %.1f MB during PutObject, %.1f MB during GetObject)", mb(growth), mb(j.idleKB), mb(j.putPeakKB), mb(j.getPeak)),
		growth <= targetS3GrowthKB)
	return []string{fmt.Sprintf("(j) %.1f MB/s PutObject, %.1f MB/s GetObject, %.1f MB/s cp", float64(j.mb)/j.put.Seconds(), float64(j.mb)/j.get.Seconds(), float64(j.mb)/j.cp.Seconds())}
}
