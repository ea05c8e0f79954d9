package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clickstream/clickstream/pkg/subscription"
)

// The Standard Webhooks test vector, published with the specification's
// reference libraries (standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go, TestWebhookSign).
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignStandardVector(t *testing.T) {
	sig, err := SignStandard(vectorSecret, vectorMsgID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	require.NoError(t, err)
	assert.Equal(t, vectorSignature, sig)
}

func TestVerifyStandardVector(t *testing.T) {
	h := http.Header{}
	h.Set(HeaderWebhookID, vectorMsgID)
	h.Set(HeaderWebhookTimestamp, "1614265330")
	h.Set(HeaderWebhookSignature, "v1,bm90IGl0 "+vectorSignature)

	err := VerifyStandard(h, []byte(vectorBody), []string{vectorSecret}, time.Unix(vectorTimestamp+10, 0), DefaultTolerance)
	require.NoError(t, err)
}

func TestSignCodeQRKnownValue(t *testing.T) {
	// Expected value from: printf '%s' BODY | openssl dgst -sha256 -hmac SECRET,
	// keyed with the whole "whsec_..." string.
	body := []byte(`{"id":"evt_b9ywgxWqai2glUpCQjclB17kM","event":"link.clicked"}`)
	want := "e0fba7e94ac5f9a3d0248d8455ed1fa67f35e32a06a620021cf184f8afce34c2"

	assert.Equal(t, want, SignCodeQR(vectorSecret, body))
	assert.NoError(t, VerifyCodeQR(vectorSecret, body, want))
	assert.ErrorIs(t, VerifyCodeQR(vectorSecret, append(body, ' '), want), ErrInvalidSignature)
	assert.ErrorIs(t, VerifyCodeQR(vectorSecret, body, ""), ErrMissingHeader)
}

func TestSignatureHeadersRotation(t *testing.T) {
	newer, older := subscription.NewSecret(), subscription.NewSecret()
	body := []byte(`{"id":"evt_1","event":"link.clicked"}`)
	now := time.Now()

	h := http.Header{}
	require.NoError(t, SetSignatureHeaders(h, body, "evt_1", now, []string{newer, older}))

	sigs := strings.Fields(h.Get(HeaderWebhookSignature))
	require.Len(t, sigs, 2)
	wantNewer, err := SignStandard(newer, "evt_1", now, body)
	require.NoError(t, err)
	wantOlder, err := SignStandard(older, "evt_1", now, body)
	require.NoError(t, err)
	assert.Equal(t, []string{wantNewer, wantOlder}, sigs)

	// A receiver that has only one of the two secrets accepts the request.
	assert.NoError(t, VerifyStandard(h, body, []string{newer}, now, DefaultTolerance))
	assert.NoError(t, VerifyStandard(h, body, []string{older}, now, DefaultTolerance))
	assert.ErrorIs(t, VerifyStandard(h, body, []string{subscription.NewSecret()}, now, DefaultTolerance), ErrInvalidSignature)

	// CodeQR-Signature uses the newest secret only.
	assert.NoError(t, VerifyCodeQR(newer, body, h.Get(HeaderCodeQRSignature)))
	assert.Error(t, VerifyCodeQR(older, body, h.Get(HeaderCodeQRSignature)))
	assert.Equal(t, "evt_1", h.Get(HeaderWebhookID))
}

func TestVerifyStandardRejects(t *testing.T) {
	secret := subscription.NewSecret()
	body := []byte(`{"a":1}`)
	sent := time.Unix(1700000000, 0)
	signed := func() http.Header {
		h := http.Header{}
		require.NoError(t, SetSignatureHeaders(h, body, "evt_x", sent, []string{secret}))
		return h
	}

	tests := []struct {
		name   string
		change func(http.Header)
		now    time.Time
		body   string
		want   error
	}{
		{name: "tampered body", now: sent, body: `{"a":2}`, want: ErrInvalidSignature},
		{name: "old timestamp", now: sent.Add(DefaultTolerance + time.Second), want: ErrTimestampTooOld},
		{name: "future timestamp", now: sent.Add(-DefaultTolerance - time.Second), want: ErrTimestampTooNew},
		{name: "missing id", now: sent, change: func(h http.Header) { h.Del(HeaderWebhookID) }, want: ErrMissingHeader},
		{name: "missing signature", now: sent, change: func(h http.Header) { h.Del(HeaderWebhookSignature) }, want: ErrMissingHeader},
		{name: "invalid timestamp", now: sent, change: func(h http.Header) { h.Set(HeaderWebhookTimestamp, "soon") }, want: ErrInvalidTimestamp},
		{name: "other message id", now: sent, change: func(h http.Header) { h.Set(HeaderWebhookID, "evt_y") }, want: ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := signed()
			if tt.change != nil {
				tt.change(h)
			}
			b := body
			if tt.body != "" {
				b = []byte(tt.body)
			}
			assert.ErrorIs(t, VerifyStandard(h, b, []string{secret}, tt.now, DefaultTolerance), tt.want)
		})
	}
}

func TestSignatureHeadersNoSecret(t *testing.T) {
	err := SetSignatureHeaders(http.Header{}, []byte("{}"), "evt_1", time.Now(), nil)
	assert.Error(t, err)
}
