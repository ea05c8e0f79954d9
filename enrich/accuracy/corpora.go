package accuracy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// labelledUA is one user agent of a corpus with the label the corpus gives.
type labelledUA struct {
	UA    string
	Label string
	// Group is the corpus's own grouping, such as the heading of an isbot
	// fixture entry.
	Group string
}

func readYAML(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading corpus: %w", err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding %s: %w", path, err)
	}
	return nil
}

// loadMatomo reads a device-detector fixture file. Label is the fixture's
// device type; Group is its client type ("browser", "mobile app", "feed
// reader", "library", ...).
func loadMatomo(dir, file string) ([]labelledUA, error) {
	var fixtures []struct {
		UserAgent string `yaml:"user_agent"`
		Client    struct {
			Type string `yaml:"type"`
		} `yaml:"client"`
		Device struct {
			Type string `yaml:"type"`
		} `yaml:"device"`
	}
	if err := readYAML(filepath.Join(dir, "ua", "matomo-device-detector", file), &fixtures); err != nil {
		return nil, err
	}

	out := make([]labelledUA, 0, len(fixtures))
	for _, f := range fixtures {
		out = append(out, labelledUA{UA: f.UserAgent, Label: f.Device.Type, Group: f.Client.Type})
	}
	return out, nil
}

// loadUAP reads a uap-core test file. Label is the expected family.
func loadUAP(dir, file string) ([]labelledUA, error) {
	var doc struct {
		TestCases []struct {
			UserAgent string `yaml:"user_agent_string"`
			Family    string `yaml:"family"`
		} `yaml:"test_cases"`
	}
	if err := readYAML(filepath.Join(dir, "ua", "uap-core", file), &doc); err != nil {
		return nil, err
	}

	out := make([]labelledUA, 0, len(doc.TestCases))
	for _, c := range doc.TestCases {
		out = append(out, labelledUA{UA: c.UserAgent, Label: c.Family})
	}
	return out, nil
}

// loadIsbot reads an isbot fixture file, a map from a client's name to its
// user agents. Group is the client's name.
func loadIsbot(dir, file string) ([]labelledUA, error) {
	var doc yaml.Node
	if err := readYAML(filepath.Join(dir, "ua", "isbot", file), &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("decoding %s: expected a mapping of names to user agent lists", file)
	}

	// The node API keeps the file's order, so reports list cases stably.
	var out []labelledUA
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		name := m.Content[i].Value
		for _, ua := range m.Content[i+1].Content {
			out = append(out, labelledUA{UA: ua.Value, Group: name})
		}
	}
	return out, nil
}

// loadCrawlerInstances reads the example user agents of crawler-user-agents.
// Group is the pattern they illustrate.
func loadCrawlerInstances(dir string) ([]labelledUA, error) {
	data, err := os.ReadFile(filepath.Join(dir, "ua", "crawler-user-agents", "crawler-user-agents.json"))
	if err != nil {
		return nil, fmt.Errorf("reading corpus: %w", err)
	}

	var crawlers []struct {
		Pattern   string   `json:"pattern"`
		Instances []string `json:"instances"`
	}
	if err := json.Unmarshal(data, &crawlers); err != nil {
		return nil, fmt.Errorf("decoding crawler-user-agents.json: %w", err)
	}

	var out []labelledUA
	for _, c := range crawlers {
		for _, ua := range c.Instances {
			out = append(out, labelledUA{UA: ua, Group: c.Pattern})
		}
	}
	return out, nil
}
