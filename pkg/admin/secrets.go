package admin

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// Bounds of the interval at which RunSecretExpiry checks for expired
// previous secrets: a quarter of the grace period, within these limits.
const (
	minExpiryInterval = 100 * time.Millisecond
	maxExpiryInterval = time.Minute
)

// RunSecretExpiry removes previous secrets whose grace period has passed,
// checking at an interval of a quarter of admin.secretGracePeriod (at
// least 100ms, at most a minute), until ctx ends. Only processes that run
// it remove old secrets, so run it wherever the API runs. Several
// processes that run it write the same change, which is harmless.
func (s *Server) RunSecretExpiry(ctx context.Context) {
	interval := min(max(s.cfg.SecretGracePeriod/4, minExpiryInterval), maxExpiryInterval)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			s.ExpireSecrets(ctx)
		case <-ctx.Done():
			return
		}
	}
}

// ExpireSecrets writes every webhook whose previous secret has expired
// without that secret, and returns how many it wrote. Failures are logged
// and retried at the next call.
func (s *Server) ExpireSecrets(ctx context.Context) int {
	now := s.now()
	n := 0
	for _, listed := range s.deps.Webhooks.List("") {
		if !previousSecretExpired(listed.PreviousSecretExpiresAt, len(listed.Secrets), now) {
			continue
		}
		if s.expireSecret(ctx, listed.ID, now) {
			n++
		}
	}
	return n
}

func previousSecretExpired(expiresAt *time.Time, secrets int, now time.Time) bool {
	return expiresAt != nil && secrets == 2 && !now.Before(*expiresAt)
}

// expireSecret drops the previous secret of one webhook under writeMu,
// reading it again so that a rotation in between is not undone.
func (s *Server) expireSecret(ctx context.Context, id string, now time.Time) bool {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	hook, ok := s.deps.Webhooks.Get(id)
	if !ok || !previousSecretExpired(hook.PreviousSecretExpiresAt, len(hook.Secrets), now) {
		return false
	}
	hook.Secrets = []string{hook.Secrets[0]}
	hook.PreviousSecretExpiresAt = nil
	hook.UpdatedAt = now

	writeCtx, cancel := context.WithTimeout(ctx, s.cfg.RequestTimeout)
	defer cancel()
	if err := s.deps.Webhooks.Put(writeCtx, hook); err != nil {
		s.log.Error("removing an expired previous secret failed; retrying later", zap.String("webhookId", id), zap.Error(err))
		return false
	}
	s.log.Info("previous webhook secret expired and removed", zap.String("webhookId", id))
	return true
}
