package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// keyPair is the access key pair requests must be signed with.
type keyPair struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

const credentialsFile = "credentials.json"

// loadKeys returns the key pair from PIPEWRIGHT_ACCESS_KEY_ID and
// PIPEWRIGHT_SECRET_ACCESS_KEY, else the one kept under data, generating and
// keeping one (mode 0600) on first use; generated reports the latter.
func loadKeys(data string) (kp keyPair, generated bool, err error) {
	id, secret := os.Getenv("PIPEWRIGHT_ACCESS_KEY_ID"), os.Getenv("PIPEWRIGHT_SECRET_ACCESS_KEY")
	if id != "" || secret != "" {
		if id == "" || secret == "" {
			return kp, false, errors.New("set both PIPEWRIGHT_ACCESS_KEY_ID and PIPEWRIGHT_SECRET_ACCESS_KEY, or neither")
		}
		return keyPair{id, secret}, false, nil
	}
	path := filepath.Join(data, credentialsFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if err := json.Unmarshal(b, &kp); err != nil || kp.AccessKeyID == "" || kp.SecretAccessKey == "" {
			return kp, false, fmt.Errorf("%s is damaged; remove it to generate a new key pair", path)
		}
		return kp, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return kp, false, err
	}
	kp = keyPair{AccessKeyID: "AKIA" + randomString(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), SecretAccessKey: randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}
	b, _ = json.MarshalIndent(kp, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return kp, false, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return kp, false, err
	}
	return kp, true, nil
}

func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// writeExports prints the lines a user pastes into a shell to reach the server.
func writeExports(w io.Writer, kp keyPair, c Config) {
	fmt.Fprintf(w, "export AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s AWS_REGION=%s AWS_DEFAULT_REGION=%s AWS_ENDPOINT_URL=http://%s\n",
		kp.AccessKeyID, kp.SecretAccessKey, c.Region, c.Region, c.Addr)
}

func printEnv(c Config, w io.Writer) error {
	kp, _, err := loadKeysReadOnly(c.Data)
	if err != nil {
		return err
	}
	writeExports(w, kp, c)
	return nil
}

// loadKeysReadOnly is loadKeys without generating.
func loadKeysReadOnly(data string) (keyPair, bool, error) {
	if os.Getenv("PIPEWRIGHT_ACCESS_KEY_ID") != "" {
		return loadKeys(data)
	}
	path := filepath.Join(data, credentialsFile)
	if _, err := os.Stat(path); err != nil {
		return keyPair{}, false, fmt.Errorf("no key pair in %s yet: start `pipewright serve --data %s` once", data, data)
	}
	return loadKeys(data)
}
