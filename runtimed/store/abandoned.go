package store

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
)

// DeleteAbandoned removes what writers killed mid-upload left behind, if it
// was started before before: a directory's "<key>.<n>.tmp" temporaries, and
// a bucket's incomplete multipart uploads (whose parts S3 bills and keeps
// until a lifecycle rule or this aborts them). Neither is an object, so
// List never shows them. It returns how many it removed.
func (s *Store) DeleteAbandoned(ctx context.Context, before time.Time) (int, error) {
	if s.s3 != nil {
		return s.abortUploads(ctx, before)
	}
	n := 0
	it := s.bucket.List(&blob.ListOptions{})
	for {
		o, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, s.wrap("", err)
		}
		if isTemp(o.Key) && o.ModTime.Before(before) {
			// The bucket, not s.Delete: the temporary's name is no valid key.
			if err := s.bucket.Delete(ctx, o.Key); err != nil && !isNotFound(err) {
				return n, s.wrap(o.Key, err)
			}
			n++
		}
	}
}

func (s *Store) abortUploads(ctx context.Context, before time.Time) (int, error) {
	n := 0
	p := s3.NewListMultipartUploadsPaginator(s.s3, &s3.ListMultipartUploadsInput{
		Bucket: aws.String(s.s3Bucket), Prefix: aws.String(s.s3Prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, s.wrap("", err)
		}
		for _, u := range page.Uploads {
			if u.Initiated == nil || !u.Initiated.Before(before) {
				continue
			}
			_, err := s.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
				Bucket: aws.String(s.s3Bucket), Key: u.Key, UploadId: u.UploadId,
			})
			if err != nil && !isNotFound(err) {
				return n, s.wrap(aws.ToString(u.Key), err)
			}
			n++
		}
	}
	return n, nil
}
