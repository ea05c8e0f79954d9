package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunWithoutCommand(t *testing.T) {
	assert.Equal(t, 2, run(nil))
}

func TestReplayRejectsConcurrencyBelowOne(t *testing.T) {
	var stderr bytes.Buffer
	err := runReplay(context.Background(), []string{"-concurrency", "0"}, &bytes.Buffer{}, &stderr)

	require.ErrorIs(t, err, errUsage)
	assert.Contains(t, stderr.String(), "invalid -concurrency 0")
}

func TestReplayFailsWithoutEdge(t *testing.T) {
	// A port that was free a moment ago, so nothing listens on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	logPath := filepath.Join(t.TempDir(), "access.log")
	line := `83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/ HTTP/1.1" 200 7697 "-" "Mozilla/5.0"` + "\n"
	require.NoError(t, os.WriteFile(logPath, []byte(line+line), 0o644))

	var stdout bytes.Buffer
	err = runReplay(context.Background(), []string{"-edge", "http://" + addr, "-log", logPath, "-targets", "go.example.com/abc"},
		&stdout, &bytes.Buffer{})

	require.Error(t, err)
	assert.Contains(t, err.Error(), "none of the 2 requests got a response")
	assert.Contains(t, stdout.String(), "requests without a response: 2")
}

func TestSummaryRejectsTopOutOfRange(t *testing.T) {
	var stderr bytes.Buffer
	err := runSummary(context.Background(), []string{"-top", "0"}, &bytes.Buffer{}, &stderr)

	require.ErrorIs(t, err, errUsage)
	assert.Contains(t, stderr.String(), "invalid -top 0: must be 1 to")
}
