package s3server

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestStart puts an object through S3 and finds it as a file in Dir.
func TestStart(t *testing.T) {
	s := Start(t)
	_, err := s.Client().PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(s.Bucket), Key: aws.String("a/b"), Body: strings.NewReader("hello"),
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.ObjectPath("a/b"))
	if err != nil || string(b) != "hello" {
		t.Fatalf("the object on disk: %q, %v", b, err)
	}
}
