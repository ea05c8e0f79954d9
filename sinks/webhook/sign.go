package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/clickstream/clickstream/pkg/subscription"
)

// Signature headers set on every delivery.
const (
	// HeaderCodeQRSignature carries the lowercase hex HMAC-SHA256 of the
	// body, the scheme Dub and CodeQR receivers already verify.
	HeaderCodeQRSignature = "CodeQR-Signature"
	// HeaderWebhookID, HeaderWebhookTimestamp and HeaderWebhookSignature are
	// the three headers of the Standard Webhooks specification.
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// DefaultTolerance is the maximum difference between webhook-timestamp and
// the receiver's clock that VerifyStandard accepts. The Standard Webhooks
// reference libraries use five minutes.
const DefaultTolerance = 5 * time.Minute

// Verification errors returned by VerifyCodeQR and VerifyStandard.
var (
	ErrMissingHeader    = errors.New("missing signature header")
	ErrInvalidSignature = errors.New("no signature matches")
	ErrTimestampTooOld  = errors.New("webhook-timestamp is too old")
	ErrTimestampTooNew  = errors.New("webhook-timestamp is too far in the future")
	ErrInvalidTimestamp = errors.New("webhook-timestamp is not unix seconds")
	errNoSecrets        = errors.New("webhook has no signing secret")
)

// SignCodeQR returns the CodeQR-Signature value: the lowercase hex
// HMAC-SHA256 of body. The key is the whole secret string as stored,
// "whsec_" prefix included, not the decoded bytes, because that is how Dub
// and CodeQR sign and how their receivers' verification code is written.
func SignCodeQR(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// SignStandard returns one "v1,<base64>" Standard Webhooks signature: the
// HMAC-SHA256 of "<msgID>.<unix seconds>.<body>" keyed with the bytes that
// the secret's base64 part after "whsec_" encodes.
func SignStandard(secret, msgID string, timestamp time.Time, body []byte) (string, error) {
	key, err := subscription.DecodeSecret(secret)
	if err != nil {
		return "", fmt.Errorf("decoding signing secret: %w", err)
	}
	return signStandardKey(key, msgID, timestamp.Unix(), body), nil
}

func signStandardKey(key []byte, msgID string, unix int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, unix, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SetSignatureHeaders sets the CodeQR and Standard Webhooks headers of one
// attempt on h. Secrets are newest first: CodeQR-Signature uses the newest
// one, and webhook-signature lists one signature per secret, space-separated,
// so receivers verify with either key during a rotation.
func SetSignatureHeaders(h http.Header, body []byte, msgID string, timestamp time.Time, secrets []string) error {
	if len(secrets) == 0 {
		return errNoSecrets
	}

	sigs := make([]string, 0, len(secrets))
	for i, s := range secrets {
		sig, err := SignStandard(s, msgID, timestamp, body)
		if err != nil {
			return fmt.Errorf("secrets[%d]: %w", i, err)
		}
		sigs = append(sigs, sig)
	}

	// Header names are case-insensitive. Set sends them as "Webhook-Id" and
	// so on over HTTP/1.1, and HTTP/2 lowercases them.
	h.Set(HeaderWebhookID, msgID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(timestamp.Unix(), 10))
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
	h.Set(HeaderCodeQRSignature, SignCodeQR(secrets[0], body))
	return nil
}

// VerifyCodeQR checks a CodeQR-Signature value against body and secret in
// constant time.
func VerifyCodeQR(secret string, body []byte, signature string) error {
	if signature == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeader, HeaderCodeQRSignature)
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: %s is not hex", ErrInvalidSignature, HeaderCodeQRSignature)
	}

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return ErrInvalidSignature
	}
	return nil
}

// VerifyStandard checks the Standard Webhooks headers of a request as a
// receiver does. It succeeds when the timestamp is within tolerance of now
// and any "v1" signature in webhook-signature matches any of the secrets.
// A tolerance of zero or less skips the timestamp check.
func VerifyStandard(h http.Header, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	msgID, tsText, sigText := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	for name, v := range map[string]string{HeaderWebhookID: msgID, HeaderWebhookTimestamp: tsText, HeaderWebhookSignature: sigText} {
		if v == "" {
			return fmt.Errorf("%w: %s", ErrMissingHeader, name)
		}
	}

	unix, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: got %q", ErrInvalidTimestamp, tsText)
	}
	if tolerance > 0 {
		sent := time.Unix(unix, 0)
		if now.Sub(sent) > tolerance {
			return ErrTimestampTooOld
		}
		if sent.Sub(now) > tolerance {
			return ErrTimestampTooNew
		}
	}

	for _, secret := range secrets {
		key, err := subscription.DecodeSecret(secret)
		if err != nil {
			return fmt.Errorf("decoding signing secret: %w", err)
		}
		if standardSignatureMatches(sigText, signStandardKey(key, msgID, unix, body)) {
			return nil
		}
	}
	return ErrInvalidSignature
}

// standardSignatureMatches reports whether any space-separated entry of
// header equals expected. Entries with another version prefix never match.
func standardSignatureMatches(header, expected string) bool {
	for _, entry := range strings.Fields(header) {
		if hmac.Equal([]byte(entry), []byte(expected)) {
			return true
		}
	}
	return false
}
