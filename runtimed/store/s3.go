package store

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"
)

// Timeouts that make an unreachable store fail in seconds, not minutes,
// while leaving a slow but live one time to answer.
const (
	dialTimeout     = 3 * time.Second
	headerTimeout   = 30 * time.Second // after the request is sent, e.g. completing a multipart upload
	maxAttempts     = 2
	maxRetryBackoff = 500 * time.Millisecond
	abortTimeout    = 10 * time.Second // to abort a failed multipart upload
)

func openS3(ctx context.Context, o *S3) (*Store, error) {
	cfg, err := awsConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.ForcePathStyle
		// Third-party S3 servers (MinIO, Ceph, versitygw) reject or mishandle
		// the SDK's default trailing checksums; ask for them only when the
		// operation needs them. The store verifies sha256 itself.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	b, err := s3blob.OpenBucket(ctx, client, o.Bucket, &s3blob.Options{
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
	})
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(o.Prefix, "/")
	if prefix != "" {
		if err := validPrefix(prefix); err != nil {
			return nil, err
		}
		b = blob.PrefixedBucket(b, prefix+"/")
	}
	u := "s3://" + o.Bucket
	if prefix != "" {
		u += "/" + prefix
	}
	d := u
	if o.Endpoint != "" {
		d += " at " + o.Endpoint
	}
	bucketPrefix := ""
	if prefix != "" {
		bucketPrefix = prefix + "/"
	}
	return &Store{bucket: b, describe: d, uriBase: u + "/", s3: client, s3Bucket: o.Bucket, s3Prefix: bucketPrefix}, nil
}

// abortable is s3blob's BeforeWrite: it swaps the writer's transfer manager
// for one with a FailTimeout. Without it the transfer manager aborts a failed
// multipart upload with the writer's context, which write has just cancelled
// to make it fail, so the abort fails too and the parts stay on the server.
func (s *Store) abortable(as func(any) bool) error {
	var tm *transfermanager.Client
	if as(&tm) {
		*tm = *transfermanager.New(s.s3, func(o *transfermanager.Options) {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.FailTimeout = abortTimeout
		})
	}
	return nil
}

func awsConfig(ctx context.Context, o *S3) (aws.Config, error) {
	region := o.Region
	if region == "" {
		region = "us-east-1" // what S3-compatible servers expect when none is set
	}
	httpClient := awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = dialTimeout }).
		WithTransportOptions(func(t *http.Transport) {
			t.TLSHandshakeTimeout = dialTimeout
			t.ResponseHeaderTimeout = headerTimeout
			t.MaxIdleConnsPerHost = 16
		})
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(region),
		config.WithHTTPClient(httpClient),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(r *retry.StandardOptions) {
				r.MaxAttempts = maxAttempts
				r.MaxBackoff = maxRetryBackoff
			})
		}),
	}
	if o.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, o.SessionToken)))
	}
	return config.LoadDefaultConfig(ctx, opts...)
}
