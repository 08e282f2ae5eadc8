package lineagequeryextension

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/bearertokenauthextension"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/eventlineage/lineage/extension/lineagestorageextension"
	"github.com/eventlineage/lineage/internal/lineagestore"
)

// testHost offers the extensions a collector would.
type testHost struct {
	exts map[component.ID]component.Component
}

func (h *testHost) GetExtensions() map[component.ID]component.Component { return h.exts }

var storageID = component.MustNewID("lineage_storage")

// startStorage starts a real lineage_storage extension on a SQLite file (with the fixture's key
// hash secret) and writes the fixture through it.
func startStorage(t *testing.T, host *testHost) lineagestore.Provider {
	f := lineagestorageextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*lineagestorageextension.Config)
	cfg.SQLite.Path = filepath.Join(t.TempDir(), "lineage.db")
	cfg.KeyHash.Secret = fixtureSecret
	ext := startExtension(t, f, storageID, cfg, host)
	p := ext.(lineagestore.Provider)
	require.NoError(t, p.LineageStore().Write(context.Background(), fixtureBatch(p.KeyHasher())))
	return p
}

// startExtension creates and starts an extension through its factory, registers it on host and
// shuts it down at the end of the test (cleanups run last-in first-out: dependents first).
func startExtension(t *testing.T, f extension.Factory, id component.ID, cfg component.Config, host *testHost, logger ...*zap.Logger) extension.Extension {
	set := extensiontest.NewNopSettings(f.Type())
	set.ID = id
	set.BuildInfo.Version = "0.1.0-test"
	if len(logger) > 0 {
		set.Logger = logger[0]
	}
	ext, err := f.Create(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	host.exts[id] = ext
	return ext
}

// startQuery starts the lineage_query extension on a free port and returns the URL it logged.
func startQuery(t *testing.T, cfg *Config, host *testHost) string {
	core, logs := observer.New(zapcore.InfoLevel)
	startExtension(t, NewFactory(), component.NewID(componentType), cfg, host, zap.New(core))
	started := logs.FilterMessageSnippet("lineage UI and API at ").All()
	require.Len(t, started, 1)
	return strings.TrimPrefix(started[0].Message, "lineage UI and API at ")
}

func localConfig() *Config {
	cfg := testConfig()
	cfg.NetAddr.Endpoint = "127.0.0.1:0"
	return cfg
}

func fetch(t *testing.T, client *http.Client, url, token string) (int, string) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// The collector's way: the real lineage_storage extension, then lineage_query through its
// factory, the API and the UI on one port, shut down in reverse order.
func TestLifecycleWithStorageExtension(t *testing.T) {
	host := &testHost{exts: map[component.ID]component.Component{}}
	startStorage(t, host)
	base := startQuery(t, localConfig(), host)
	require.True(t, strings.HasPrefix(base, "http://127.0.0.1:"), base)
	client := &http.Client{}
	defer client.CloseIdleConnections()

	status, body := fetch(t, client, base+"api/v1/events?key=acct-2", "")
	require.Equal(t, http.StatusOK, status, body)
	var page lineagestore.EventPage
	require.NoError(t, json.Unmarshal([]byte(body), &page))
	assert.Equal(t, []lineagestore.RecordID{recTx3}, records(page.Events), "the key hashed with the storage extension's hasher")

	status, body = fetch(t, client, base+"api/v1/config", "")
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"trace_url_template":"http://localhost:16686/trace/{trace_id}","max_lineage_depth":20,"max_lineage_events":2000,"version":"0.1.0-test"}`, body)

	status, body = fetch(t, client, base, "")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "<html")
}

func TestDependencies(t *testing.T) {
	cfg := testConfig()
	assert.Equal(t, []component.ID{storageID}, newExtension(cfg, extensiontest.NewNopSettings(componentType)).Dependencies())
	auth := confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: component.MustNewID("bearertokenauth")}}
	cfg.Auth = configoptional.Some(auth)
	assert.Equal(t, []component.ID{storageID, component.MustNewID("bearertokenauth")},
		newExtension(cfg, extensiontest.NewNopSettings(componentType)).Dependencies())
}

// Authentication through the collector's real bearertokenauth extension.
func TestBearerTokenAuth(t *testing.T) {
	host := &testHost{exts: map[component.ID]component.Component{}}
	startStorage(t, host)
	authID := component.MustNewID("bearertokenauth")
	bf := bearertokenauthextension.NewFactory()
	bcfg := bf.CreateDefaultConfig().(*bearertokenauthextension.Config)
	bcfg.BearerToken = configopaque.String("s3cret-token")
	startExtension(t, bf, authID, bcfg, host)

	cfg := localConfig()
	cfg.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	base := startQuery(t, cfg, host)
	client := &http.Client{}
	defer client.CloseIdleConnections()

	for _, token := range []string{"", "wrong-token"} {
		status, body := fetch(t, client, base+"api/v1/events", token)
		assert.Equal(t, http.StatusUnauthorized, status, "token %q", token)
		var e errorBody
		require.NoError(t, json.Unmarshal([]byte(body), &e), body)
		assert.NotEmpty(t, e.Error)
		assert.NotContains(t, body, "s3cret-token")
	}
	status, body := fetch(t, client, base+"api/v1/events/dc1/transactions/0/1", "s3cret-token")
	assert.Equal(t, http.StatusOK, status, body)
	for _, path := range []string{"api/v1/config", "api/v1/openapi.json", "api/v1/nothing", "api", "api/"} {
		status, _ = fetch(t, client, base+path, "")
		assert.Equal(t, http.StatusUnauthorized, status, "/%s: all of /api/ needs the token", path)
	}
	// The UI's page (no data in it) loads without a token: the browser cannot send one when it
	// navigates; the page asks the user for the token and sends it with its API calls.
	for _, path := range []string{"", "events/dc1/transactions/0/1"} {
		status, body = fetch(t, client, base+path, "")
		assert.Equal(t, http.StatusOK, status, "/%s", path)
		assert.Contains(t, body, "<html")
	}
}

// The authenticator's request_params are read from the query string; they are not unknown
// parameters of the API.
func TestAuthRequestParamsAreNotUnknown(t *testing.T) {
	host := &testHost{exts: map[component.ID]component.Component{}}
	startStorage(t, host)
	authID := component.MustNewID("bearertokenauth")
	bf := bearertokenauthextension.NewFactory()
	bcfg := bf.CreateDefaultConfig().(*bearertokenauthextension.Config)
	bcfg.BearerToken = configopaque.String("s3cret-token")
	bcfg.Header = "token"
	bcfg.Scheme = ""
	startExtension(t, bf, authID, bcfg, host)

	cfg := localConfig()
	cfg.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}, RequestParameters: []string{"token"}})
	base := startQuery(t, cfg, host)
	client := &http.Client{}
	defer client.CloseIdleConnections()
	status, body := fetch(t, client, base+"api/v1/events?token=s3cret-token&topic=transactions", "")
	assert.Equal(t, http.StatusOK, status, body)
}

// TLS from the collector's tls settings, with a certificate made for the test.
func TestTLS(t *testing.T) {
	host := &testHost{exts: map[component.ID]component.Component{}}
	startStorage(t, host)
	certFile, keyFile, pool := selfSignedCert(t)
	cfg := localConfig()
	cfg.TLS = configoptional.Some(configtls.ServerConfig{Config: configtls.Config{CertFile: certFile, KeyFile: keyFile}})
	base := startQuery(t, cfg, host)
	require.True(t, strings.HasPrefix(base, "https://127.0.0.1:"), base)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	status, body := fetch(t, client, base+"api/v1/events?topic=transactions", "")
	assert.Equal(t, http.StatusOK, status, body)

	plain := &http.Client{}
	defer plain.CloseIdleConnections()
	status, _ = fetch(t, plain, "http"+strings.TrimPrefix(base, "https")+"api/v1/events", "")
	assert.Equal(t, http.StatusBadRequest, status, "plain HTTP to the TLS port")
}

func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "lineage-query-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, pool
}

func TestStartErrors(t *testing.T) {
	host := &testHost{exts: map[component.ID]component.Component{}}
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(componentType), localConfig())
	require.NoError(t, err)
	assert.ErrorContains(t, ext.Start(context.Background(), host), `lineage_query: storage: lineage storage extension "lineage_storage" is not configured`)
	require.NoError(t, ext.Shutdown(context.Background()))

	startStorage(t, host)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	cfg := localConfig()
	cfg.NetAddr.Endpoint = taken.Addr().String()
	ext, err = NewFactory().Create(context.Background(), extensiontest.NewNopSettings(componentType), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), host)
	assert.ErrorContains(t, err, "lineage_query: cannot listen on "+taken.Addr().String()+" (is another process using the port? set lineage_query::endpoint to a free address)")
	assert.ErrorContains(t, err, "address already in use")
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestUIURL(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18090}
	assert.Equal(t, "http://localhost:18090/", uiURL(false, "localhost:18090", addr))
	assert.Equal(t, "https://localhost:18090/", uiURL(true, "0.0.0.0:18090", addr))
	assert.Equal(t, "http://localhost:18090/", uiURL(false, ":18090", addr))
	assert.Equal(t, "http://[::1]:18090/", uiURL(false, "[::1]:0", addr))
	assert.Equal(t, "http://lineage.example:18090/", uiURL(false, "lineage.example:18090", addr))
}
