package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIsRetryable(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"too many parts", &clickhouse.Exception{Code: 252}, true},
		{"memory limit", &clickhouse.Exception{Code: 241}, true},
		{"timeout exceeded", &clickhouse.Exception{Code: 159}, true},
		{"unknown table", &clickhouse.Exception{Code: 60}, false},
		{"type mismatch", &clickhouse.Exception{Code: 53}, false},
		{"syntax error", &clickhouse.Exception{Code: 62}, false},
		{"wrong password", &clickhouse.Exception{Code: 516}, false},
		{"wrapped exception", fmt.Errorf("inserting: %w", &clickhouse.Exception{Code: 202}), true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"unexpected eof", fmt.Errorf("read data: %w", io.ErrUnexpectedEOF), true},
		{"pool exhausted", clickhouse.ErrAcquireConnTimeout, true},
		{"deadline", fmt.Errorf("inserting: %w", context.DeadlineExceeded), true},
		{"canceled", fmt.Errorf("inserting: %w", context.Canceled), false},
		{"invalid batch", fmt.Errorf("x: %w", ErrInvalidBatch), false},
		{"schema mismatch", fmt.Errorf("x: %w", ErrSchemaMismatch), false},
		{"unknown error", errors.New("something else"), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, IsRetryable(tc.err))
		})
	}
}

func TestOpenClosedPortIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	cfg := DefaultConfig()
	cfg.Addr = []string{addr}
	cfg.DialTimeout = time.Second
	_, err = Open(context.Background(), cfg, nil)

	require.Error(t, err)
	assert.Contains(t, err.Error(), addr)
	assert.True(t, IsRetryable(err), "%v", err)
}

func TestOpenInvalidConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Addr = nil

	_, err := Open(context.Background(), cfg, nil)

	assert.ErrorContains(t, err, "clickhouse.addr")
}
