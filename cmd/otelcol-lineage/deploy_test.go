package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/otelcol"
	"go.yaml.in/yaml/v3"
)

// Docker cannot run on the project's machines, so these tests check what can be checked without
// an engine: docker-compose.yaml parses, everything it builds or mounts exists, the collector
// configuration it mounts is valid for this distribution, and the images build with the same
// commands as the Makefile and the harness.

const repoRoot = "../.."

type composeFile struct {
	Services map[string]struct {
		Image   string   `yaml:"image"`
		Build   string   `yaml:"build"`
		Command []string `yaml:"command"`
		Volumes []string `yaml:"volumes"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yaml"))
	require.NoError(t, err)
	var c composeFile
	require.NoError(t, yaml.Unmarshal(raw, &c))
	return c
}

func TestComposeReferencesExist(t *testing.T) {
	c := loadCompose(t)
	require.Contains(t, c.Services, "kafka")
	require.Contains(t, c.Services, "collector")
	for name, svc := range c.Services {
		assert.True(t, svc.Image != "" || svc.Build != "", "service %s has neither image nor build", name)
		if svc.Build != "" {
			assert.FileExists(t, filepath.Join(repoRoot, svc.Build, "Dockerfile"), "service %s", name)
		}
		for _, v := range svc.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, "./") {
				assert.FileExists(t, filepath.Join(repoRoot, src), "service %s mounts a missing file", name)
			} else {
				assert.Contains(t, c.Volumes, src, "service %s uses an undeclared volume", name)
			}
		}
	}
}

func TestComposeCollectorConfigIsValid(t *testing.T) {
	factories, err := components()
	require.NoError(t, err)
	provider, err := otelcol.NewConfigProvider(otelcol.ConfigProviderSettings{
		ResolverSettings: confmap.ResolverSettings{
			URIs:              []string{"file:" + filepath.Join(repoRoot, "deploy", "compose", "collector.yaml")},
			ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		},
	})
	require.NoError(t, err)
	cfg, err := provider.Get(t.Context(), factories)
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	require.NoError(t, confmap.Validate(cfg))
}

func TestDockerfilesBuildLikeTheMakefile(t *testing.T) {
	collector, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	require.NoError(t, err)
	assert.Contains(t, string(collector), "RUN make build", "the collector image must be built by the Makefile's build target")

	apps, err := os.ReadFile(filepath.Join(repoRoot, "e2e", "apps", "Dockerfile"))
	require.NoError(t, err)
	assert.Contains(t, string(apps), "mvn -q -B package -DskipTests", "the apps image must build like e2e/bin/fetch.sh")
}
