"""A non-Rust CRM client built from proto/ alone (issue 7).

Generates Python stubs from the repository's proto/ into a temp directory with grpcio-tools,
then against a running Switchboard API: calls GetJournalInfo, subscribes after seq 0, reads
every event up to the CaughtUp marker, checks they are the journal in order, and finally checks
that a wrong token gets UNAUTHENTICATED. Prints one JSON summary line; exits non-zero on any
mismatch.

usage: crm_client.py ADDR TOKEN PROTO_DIR EXPECTED_EVENTS
"""

import importlib
import json
import os
import sys
import tempfile

import grpc
import grpc_tools
from grpc_tools import protoc


def generate(proto_dir, out_dir):
    include = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = sorted(
        os.path.join("switchboard", "v1", name)
        for name in os.listdir(os.path.join(proto_dir, "switchboard", "v1"))
        if name.endswith(".proto")
    )
    args = ["protoc", f"-I{proto_dir}", f"-I{include}", f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}"] + files
    if protoc.main(args) != 0:
        raise SystemExit("stub generation failed")
    sys.path.insert(0, out_dir)


def main():
    addr, token, proto_dir, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with tempfile.TemporaryDirectory() as out_dir:
        generate(proto_dir, out_dir)
        events_pb2 = importlib.import_module("switchboard.v1.events_pb2")
        events_grpc = importlib.import_module("switchboard.v1.events_pb2_grpc")
        channel = grpc.insecure_channel(addr)
        stub = events_grpc.EventServiceStub(channel)
        auth = [("authorization", f"Bearer {token}")]

        info = stub.GetJournalInfo(events_pb2.GetJournalInfoRequest(), metadata=auth, timeout=10)
        if info.head_seq != expected or len(info.journal_epoch) != 16:
            raise SystemExit(f"unexpected journal info: {info}")

        seqs, kinds, caught_up = [], set(), None
        stream = stub.Subscribe(events_pb2.SubscribeRequest(after_seq=0), metadata=auth, timeout=10)
        for message in stream:
            which = message.WhichOneof("kind")
            if which == "event":
                seqs.append(message.event.seq)
                kinds.add(message.event.WhichOneof("payload"))
            elif which == "caught_up":
                caught_up = message.caught_up.watermark_seq
                break
        stream.cancel()
        if seqs != list(range(1, expected + 1)) or caught_up != expected:
            raise SystemExit(f"stream mismatch: seqs={seqs} caught_up={caught_up}")

        try:
            stub.GetJournalInfo(events_pb2.GetJournalInfoRequest(),
                                metadata=[("authorization", "Bearer wrong")], timeout=10)
            raise SystemExit("a wrong token was accepted")
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise SystemExit(f"wrong token gave {error.code()}")

        print(json.dumps({"epoch": info.journal_epoch, "head": info.head_seq, "seqs": seqs,
                          "kinds": sorted(kinds), "caught_up": caught_up}))


if __name__ == "__main__":
    main()
