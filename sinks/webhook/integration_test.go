//go:build integration

package webhook

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/clickstream/clickstream/pkg/kafka"
	"github.com/clickstream/clickstream/pkg/subscription"
)

// brokerConfig returns a config for the broker named by
// CLICKSTREAM_TEST_KAFKA_BROKERS (default 127.0.0.1:9092) with a
// webhook-events topic unique to the test.
func brokerConfig(t *testing.T) kafka.Config {
	t.Helper()
	brokers := os.Getenv("CLICKSTREAM_TEST_KAFKA_BROKERS")
	if brokers == "" {
		brokers = "127.0.0.1:9092"
	}
	kcfg := kafka.DefaultConfig()
	kcfg.Brokers = strings.Split(brokers, ",")
	kcfg.Partitions = 2
	kcfg.Topics.WebhookEvents = fmt.Sprintf("webhook-events-%s-%d", strings.ToLower(t.Name()), time.Now().UnixNano())
	return kcfg
}

func TestIntegrationRetryThenSuccess(t *testing.T) {
	testRetryThenSuccess(t, brokerConfig(t))
}

func TestIntegrationRestartRedelivers(t *testing.T) {
	testRestartRedelivers(t, brokerConfig(t))
}

func TestIntegrationReceiverDownThenUp(t *testing.T) {
	testReceiverDownThenUp(t, brokerConfig(t))
}

func TestIntegrationRefusesPrivateTarget(t *testing.T) {
	testRefusesPrivateTarget(t, brokerConfig(t))
}

func TestIntegrationSlowEndpointGetsEveryEvent(t *testing.T) {
	testSlowEndpointGetsEveryEvent(t, brokerConfig(t))
}

func TestIntegrationIsolation(t *testing.T) {
	kcfg := brokerConfig(t)
	testIsolation(t, func(cfg Config, reg *subscription.Registry) isolationRun {
		cfg.Group = "isolation-" + kcfg.Topics.WebhookEvents
		d, rec, stop := runDispatcher(t, cfg, kcfg, reg)
		return isolationRun{
			d:   d,
			rec: rec,
			publish: func(t testing.TB, msgs []kafkago.Message) {
				publishMessages(t, kcfg, msgs)
			},
			stop: func(testing.TB) { stop() },
		}
	})
}
