"""`manage.py storage_init`: make the file stores ready, once per deployment (and safe to
run again): the local folders, or with STORAGE_BACKEND=s3 the two buckets.

The private bucket gets S3's public-access block (no object in it may ever be made public,
whatever ACL or policy is tried later); the public bucket a policy that lets anyone read
(only read) its objects, so product images have plain URLs. Nothing else creates buckets:
the app never does it on the fly (config/storage.py).
"""

import json
import os

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError
from storages.backends.s3 import S3Storage


def public_read_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "PublicReadObjects",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


class Command(BaseCommand):
    help = "Create the file stores: local folders, or the private and public S3 buckets (STORAGE_BACKEND=s3)."

    def handle(self, *args, **options):
        from botocore.exceptions import BotoCoreError, ClientError

        for alias in ("private", "default"):
            storage = storages[alias]
            if not isinstance(storage, S3Storage):
                os.makedirs(storage.location, exist_ok=True)
                self.stdout.write(f"{alias}: folder {storage.location} ready.")
                continue
            try:
                self._bucket(storage, public=alias == "default")
            except (BotoCoreError, ClientError) as exc:
                raise CommandError(f"{alias}: bucket {storage.bucket_name}: {exc}") from exc

    def _bucket(self, storage: S3Storage, *, public: bool) -> None:
        from botocore.exceptions import ClientError

        client = storage.connection.meta.client
        bucket = storage.bucket_name
        try:
            client.head_bucket(Bucket=bucket)
            made = False
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") != 404:
                raise
            options = {}
            if storage.region_name and storage.region_name != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": storage.region_name}
            client.create_bucket(Bucket=bucket, **options)
            made = True
        if public:
            client.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
        else:
            client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
            )
        what = "public-read policy" if public else "public access blocked"
        self.stdout.write(f"{'Created' if made else 'Found'} bucket {bucket} ({what}).")
