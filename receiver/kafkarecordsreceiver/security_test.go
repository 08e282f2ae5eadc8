package kafkarecordsreceiver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/kafka/configkafka"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// testPKI makes a CA and a server certificate for 127.0.0.1, writes the CA to a PEM file and
// returns the server's TLS config and the file.
func testPKI(t *testing.T) (*tls.Config, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lineage test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, &key.PublicKey, caKey)
	require.NoError(t, err)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, caFile
}

// TestTLSAndSASL reads a cluster that requires TLS and each supported SASL mechanism.
func TestTLSAndSASL(t *testing.T) {
	serverTLS, caFile := testPKI(t)
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(caFile)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(caPEM))

	for _, mech := range []string{saslPlain, saslScram256, saslScram512} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"), kfake.TLS(serverTLS),
				kfake.EnableSASL(), kfake.Superuser(mech, "lineage", "pw"))
			require.NoError(t, err)
			t.Cleanup(c.Close)

			auth := map[string]kgo.Opt{
				saslPlain:    kgo.SASL(plain.Auth{User: "lineage", Pass: "pw"}.AsMechanism()),
				saslScram256: kgo.SASL(scram.Auth{User: "lineage", Pass: "pw"}.AsSha256Mechanism()),
				saslScram512: kgo.SASL(scram.Auth{User: "lineage", Pass: "pw"}.AsSha512Mechanism()),
			}[mech]
			p, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), auth)
			require.NoError(t, err)
			t.Cleanup(p.Close)
			produce(t, p, &kgo.Record{Topic: "t", Value: []byte("secret")})

			cfg := withCluster(testConfig("t"), "dc1", c)
			cc := cfg.Clusters["dc1"]
			cc.TLS = &configtls.ClientConfig{Config: configtls.Config{CAFile: caFile}}
			cc.Authentication.SASL = &configkafka.SASLConfig{Mechanism: mech, Username: "lineage", Password: "pw"}
			cfg.Clusters["dc1"] = cc
			sink := &consumertest.LogsSink{}
			start(t, cfg, sink)
			assert.Equal(t, []string{"dc1/t/0@0"}, offsets(t, waitFacts(t, sink, 1)))
		})
	}
}

func TestStartFailsOnBadTLSFiles(t *testing.T) {
	cfg := testConfig("t")
	cc := defaultClusterConfig()
	cc.Brokers = []string{"127.0.0.1:1"}
	cc.TLS = &configtls.ClientConfig{Config: configtls.Config{CAFile: filepath.Join(t.TempDir(), "missing.pem")}}
	cfg.Clusters = map[string]ClusterConfig{"dc1": cc}
	r, err := newReceiver(receivertest.NewNopSettings(componentType), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "cluster dc1: tls:")
	require.NoError(t, r.Shutdown(context.Background()))
}
