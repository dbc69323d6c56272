"""Let moto verify SigV4 signatures of body-less requests (demo/test server only).

With IAM enforcement on, moto 5.2 re-signs each request to compare signatures, but for a request without a
body it signs the parsed query parameters *as a form body* (``data=self._body or self._data``), so every
body-less GET — all of Lambda's List/Get calls — fails with a signature mismatch. The tests of the shipped
least-privilege policy need those calls to be judged by the policy, so this extension signs an empty body
as empty. It changes nothing unless IAM enforcement is turned on.
"""

from __future__ import annotations

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    from botocore.awsrequest import AWSRequest
    from moto.iam import access_control

    def _create_aws_request(self) -> AWSRequest:
        signed_headers = self._get_string_between("SignedHeaders=", ",", self._headers["Authorization"]).split(";")
        headers = self._create_headers_for_aws_request(signed_headers, self._headers)
        body = self._body if (self._body or self._method in ("GET", "HEAD", "DELETE")) else self._data
        request = AWSRequest(method=self._method, url=self._path, data=body, headers=headers)
        request.context["timestamp"] = headers["X-Amz-Date"]
        return request

    access_control.IAMRequestBase._create_aws_request = _create_aws_request
    _installed = True
