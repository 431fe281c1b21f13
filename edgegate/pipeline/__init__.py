"""The message pipeline (portable, no I/O): ordered steps per route, sub-protocol and direction.

A policy in ``message_policies`` compiles (``config.messages``) to a list of
steps through the registry (``pipeline.registry``: step name -> class, one
module per step under ``pipeline/steps``). ``compile_pipelines(cfg)`` gives
``{policy name: Pipeline}``; the relay asks each route which policy a
direction uses (``Route.pipeline_for("client" | "backend", protocol)``) and
gives every session a ``Chain`` of it per direction:

    chain = pipelines[name].session(now_ms, key, Facts(principal, route, protocol, box, peer))
    chain.charge(n, now_ms)          # the rate steps alone, first (a token refresh pays this only)
    chain.start(text, n)             # first frame: type and size
    chain.grow(n)                    # each later frame: size
    chain.judge(text, payload, now_ms, wall_s)   # whole message: None (pass it on) or the new payload

``chain.reads_text`` / ``reads_binary`` say whether some step reads or
rewrites such messages (else the relay forwards them frame by frame, in
place). Refusals raise ``policy.errors.MessageRefused(code, rule, detail,
drop)``: 1003 type, 1009 size (also a rewrite over
``limits.max_message_bytes``), 1008 rate, json, shape, signature, enrich,
or a drop with ``on_violation``/``on_exceed: drop``.
"""

from .chain import Chain, Facts, Message, Pipeline  # noqa: F401


def compile_pipelines(cfg, box_id="edgegate"):
    """{name: Pipeline} for every ``message_policies`` entry of a parsed config.

    Shared rate tables (``per: principal``) start afresh: a commit's new
    pipelines serve new sessions while live ones keep the chains they have.
    """
    mmb = cfg.limits["max_message_bytes"]
    return {name: Pipeline(name, [s.fresh() for s in st.steps], mmb, box_id)
            for name, st in cfg.message_policies.items()}
