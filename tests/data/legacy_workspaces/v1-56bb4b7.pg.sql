--
-- PostgreSQL database dump
--


-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: items; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.items (
    run_id character varying(64) NOT NULL,
    id character varying(64) NOT NULL,
    seq integer NOT NULL,
    suite character varying(200) NOT NULL,
    item json NOT NULL,
    passed boolean NOT NULL,
    drop_stage character varying(200),
    drop_reason text,
    review_status character varying(32) NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: review_audit; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_audit (
    id integer NOT NULL,
    at timestamp with time zone NOT NULL,
    actor character varying(64) NOT NULL,
    action character varying(64) NOT NULL,
    entry_id integer,
    item_id character varying(64),
    before json,
    after json
);


--
-- Name: review_audit_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.review_audit_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: review_audit_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.review_audit_id_seq OWNED BY public.review_audit.id;


--
-- Name: review_decisions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_decisions (
    id integer NOT NULL,
    entry_id integer NOT NULL,
    item_id character varying(64) NOT NULL,
    reviewer character varying(64) NOT NULL,
    decision character varying(16) NOT NULL,
    reason_code character varying(64),
    comment text,
    edited_fields json,
    diff text,
    entry_version integer NOT NULL,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: review_decisions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.review_decisions_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: review_decisions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.review_decisions_id_seq OWNED BY public.review_decisions.id;


--
-- Name: review_queue; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_queue (
    id integer NOT NULL,
    item_id character varying(64) NOT NULL,
    suite character varying(200) NOT NULL,
    run_id character varying(64),
    generator character varying(200) NOT NULL,
    status character varying(16) NOT NULL,
    priority double precision NOT NULL,
    score double precision,
    flagged boolean NOT NULL,
    item json NOT NULL,
    edited_item json,
    version integer NOT NULL,
    claimed_by character varying(64),
    claimed_until timestamp with time zone,
    decided_by character varying(64),
    decided_at timestamp with time zone,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: review_queue_flags; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.review_queue_flags (
    entry_id integer NOT NULL,
    stage character varying(200) NOT NULL,
    reason text
);


--
-- Name: review_queue_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.review_queue_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: review_queue_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.review_queue_id_seq OWNED BY public.review_queue.id;


--
-- Name: reviewers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.reviewers (
    id integer NOT NULL,
    name character varying(64) NOT NULL,
    password_hash character varying(255) NOT NULL,
    role character varying(16) NOT NULL,
    created_at timestamp with time zone NOT NULL,
    failed_logins integer NOT NULL,
    last_failed_at timestamp with time zone
);


--
-- Name: reviewers_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.reviewers_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: reviewers_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.reviewers_id_seq OWNED BY public.reviewers.id;


--
-- Name: runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.runs (
    id character varying(64) NOT NULL,
    suite character varying(200) NOT NULL,
    spec_hash character varying(64) NOT NULL,
    spec_path text,
    status character varying(16) NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    stop_reason character varying(200),
    version character varying(64),
    funnel json,
    usage json,
    error text
);


--
-- Name: review_audit id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_audit ALTER COLUMN id SET DEFAULT nextval('public.review_audit_id_seq'::regclass);


--
-- Name: review_decisions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_decisions ALTER COLUMN id SET DEFAULT nextval('public.review_decisions_id_seq'::regclass);


--
-- Name: review_queue id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_queue ALTER COLUMN id SET DEFAULT nextval('public.review_queue_id_seq'::regclass);


--
-- Name: reviewers id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.reviewers ALTER COLUMN id SET DEFAULT nextval('public.reviewers_id_seq'::regclass);


--
-- Data for Name: items; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'c06c8b913e868f43', 1, 'alpha', '{"id": "c06c8b913e868f43", "kind": "mcq", "prompt": "[alpha] Question 0: how long does a 100 litre tank take at 12 l/min?", "reference_answer": "8.33 minutes", "choices": ["8.33 minutes", "1 hour"], "citations": [{"quote": "holds 100 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s0", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 0}, "parent_id": null, "seed_id": "s0"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 0}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', '1987de14290d639e', 2, 'alpha', '{"id": "1987de14290d639e", "kind": "open_qa", "prompt": "[alpha] Question 1: how long does a 101 litre tank take at 12 l/min?", "reference_answer": "8.42 minutes", "choices": [], "citations": [{"quote": "holds 101 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s1", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 1}, "parent_id": null, "seed_id": "s1"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 1}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', '2163891ba5fc96a9', 3, 'alpha', '{"id": "2163891ba5fc96a9", "kind": "open_qa", "prompt": "[alpha] Question 2: how long does a 102 litre tank take at 12 l/min?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": null, "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'f6e0b8cb0e017099', 4, 'alpha', '{"id": "f6e0b8cb0e017099", "kind": "mcq", "prompt": "[alpha] Question 3: how long does a 103 litre tank take at 12 l/min?", "reference_answer": "8.58 minutes", "choices": ["8.58 minutes", "1 hour"], "citations": [{"quote": "holds 103 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s3", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 3}, "parent_id": null, "seed_id": "s3"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 3}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 4.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'b5b46cf76b05d43f', 5, 'alpha', '{"id": "b5b46cf76b05d43f", "kind": "open_qa", "prompt": "[alpha] Question 4: how long does a 104 litre tank take at 12 l/min?", "reference_answer": "8.67 minutes", "choices": [], "citations": [{"quote": "holds 104 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s4", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 4}, "parent_id": null, "seed_id": "s4"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 4}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 5.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', '163005fc230e81d4', 6, 'alpha', '{"id": "163005fc230e81d4", "kind": "open_qa", "prompt": "[alpha] Question 5: how long does a 105 litre tank take at 12 l/min?", "reference_answer": "8.75 minutes", "choices": [], "citations": [{"quote": "holds 105 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s5", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 5}, "parent_id": null, "seed_id": "s5"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 5}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'cb369e282135b6f5', 7, 'alpha', '{"id": "cb369e282135b6f5", "kind": "mcq", "prompt": "[alpha] Question 6: how long does a 106 litre tank take at 12 l/min?", "reference_answer": "8.83 minutes", "choices": ["8.83 minutes", "1 hour"], "citations": [{"quote": "holds 106 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s6", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 6}, "parent_id": null, "seed_id": "s6"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 6}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', '8e070596c19c0026', 8, 'alpha', '{"id": "8e070596c19c0026", "kind": "open_qa", "prompt": "[alpha] Question 7: how long does a 107 litre tank take at 12 l/min?", "reference_answer": "8.92 minutes", "choices": [], "citations": [{"quote": "holds 107 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s7", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 7}, "parent_id": null, "seed_id": "s7"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 7}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'c713c05854a1324a', 9, 'alpha', '{"id": "c713c05854a1324a", "kind": "open_qa", "prompt": "[alpha] Question 8: how long does a 108 litre tank take at 12 l/min?", "reference_answer": "9.00 minutes", "choices": [], "citations": [{"quote": "holds 108 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s8", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 8}, "parent_id": null, "seed_id": "s8"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 8}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 4.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'cf174c53497a7076', 10, 'alpha', '{"id": "cf174c53497a7076", "kind": "mcq", "prompt": "[alpha] Question 9: how long does a 109 litre tank take at 12 l/min?", "reference_answer": "9.08 minutes", "choices": ["9.08 minutes", "1 hour"], "citations": [{"quote": "holds 109 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s9", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 9}, "parent_id": null, "seed_id": "s9"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 9}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 5.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'a30406f5fe655a10', 11, 'alpha', '{"id": "a30406f5fe655a10", "kind": "open_qa", "prompt": "[alpha] Question 10: how long does a 110 litre tank take at 12 l/min?", "reference_answer": "9.17 minutes", "choices": [], "citations": [{"quote": "holds 110 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s10", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 10}, "parent_id": null, "seed_id": "s10"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 10}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-c0b8b4a7', 'ef7daeaa5514b41e', 12, 'alpha', '{"id": "ef7daeaa5514b41e", "kind": "open_qa", "prompt": "[alpha] Question 11: how long does a 111 litre tank take at 12 l/min?", "reference_answer": "9.25 minutes", "choices": [], "citations": [{"quote": "holds 111 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s11", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 11}, "parent_id": null, "seed_id": "s11"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 11}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.890154+00');
INSERT INTO public.items VALUES ('20261201T154641-3e083f82', '4030a8897b34cf23', 1, 'beta', '{"id": "4030a8897b34cf23", "kind": "mcq", "prompt": "[beta] Question 0: how long does a 100 litre tank take at 12 l/min?", "reference_answer": "8.33 minutes", "choices": ["8.33 minutes", "1 hour"], "citations": [{"quote": "holds 100 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s0", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 0}, "parent_id": null, "seed_id": "s0"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 0}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.934269+00');
INSERT INTO public.items VALUES ('20261201T154641-3e083f82', '793a114cd3a4adcc', 2, 'beta', '{"id": "793a114cd3a4adcc", "kind": "open_qa", "prompt": "[beta] Question 1: how long does a 101 litre tank take at 12 l/min?", "reference_answer": "8.42 minutes", "choices": [], "citations": [{"quote": "holds 101 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s1", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 1}, "parent_id": null, "seed_id": "s1"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 1}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:41.934269+00');
INSERT INTO public.items VALUES ('20261201T154641-3e083f82', '39c3ff95f5f6f251', 3, 'beta', '{"id": "39c3ff95f5f6f251", "kind": "open_qa", "prompt": "[beta] Question 2: how long does a 102 litre tank take at 12 l/min?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": null, "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.934269+00');
INSERT INTO public.items VALUES ('20261201T154641-3e083f82', 'c14f79a840625ffe', 4, 'beta', '{"id": "c14f79a840625ffe", "kind": "mcq", "prompt": "[beta] Question 3: how long does a 103 litre tank take at 12 l/min?", "reference_answer": "8.58 minutes", "choices": ["8.58 minutes", "1 hour"], "citations": [{"quote": "holds 103 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s3", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 3}, "parent_id": null, "seed_id": "s3"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 3}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 4.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.934269+00');
INSERT INTO public.items VALUES ('20261201T154641-3e083f82', 'ffe8366136dade5a', 5, 'beta', '{"id": "ffe8366136dade5a", "kind": "open_qa", "prompt": "[beta] Question 4: how long does a 104 litre tank take at 12 l/min?", "reference_answer": "8.67 minutes", "choices": [], "citations": [{"quote": "holds 104 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s4", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 4}, "parent_id": null, "seed_id": "s4"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 4}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 5.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.934269+00');
INSERT INTO public.items VALUES ('20261201T154641-f024afe4', 'c06c8b913e868f43', 1, 'alpha', '{"id": "c06c8b913e868f43", "kind": "mcq", "prompt": "[alpha] Question 0: how long does a 100 litre tank take at 12 l/min?", "reference_answer": "8.33 minutes", "choices": ["8.33 minutes", "1 hour"], "citations": [{"quote": "holds 100 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s0", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 0}, "parent_id": null, "seed_id": "s0"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 0}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.955571+00');
INSERT INTO public.items VALUES ('20261201T154641-f024afe4', '1987de14290d639e', 2, 'alpha', '{"id": "1987de14290d639e", "kind": "open_qa", "prompt": "[alpha] Question 1: how long does a 101 litre tank take at 12 l/min?", "reference_answer": "8.42 minutes", "choices": [], "citations": [{"quote": "holds 101 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s1", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 1}, "parent_id": null, "seed_id": "s1"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 1}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:41.955571+00');
INSERT INTO public.items VALUES ('20261201T154641-f024afe4', '2163891ba5fc96a9', 3, 'alpha', '{"id": "2163891ba5fc96a9", "kind": "open_qa", "prompt": "[alpha] Question 2: how long does a 102 litre tank take at 12 l/min?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": null, "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:41.955571+00');


--
-- Data for Name: review_audit; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.review_audit VALUES (1, '2026-12-01 15:46:42.648601+00', 'cli', 'reviewer.add', NULL, NULL, 'null', '{"name": "alice", "role": "admin"}');
INSERT INTO public.review_audit VALUES (2, '2026-12-01 15:46:43.455351+00', 'cli', 'reviewer.add', NULL, NULL, 'null', '{"name": "bob", "role": "reviewer"}');
INSERT INTO public.review_audit VALUES (3, '2026-12-01 15:46:43.533898+00', 'pipeline', 'queue.enqueue', NULL, NULL, 'null', '{"suite": "alpha", "run_id": "20261201T154641-c0b8b4a7", "added": 8}');
INSERT INTO public.review_audit VALUES (4, '2026-12-01 15:46:43.595184+00', 'alice', 'decision.accept', 1, 'c06c8b913e868f43', '{"status": "pending", "version": 1, "decided_by": null, "edited_item": null}', '{"status": "accepted", "version": 2, "decided_by": "alice", "edited_item": null, "reason_code": null, "comment": null}');
INSERT INTO public.review_audit VALUES (5, '2026-12-01 15:46:43.618766+00', 'bob', 'decision.reject', 2, '1987de14290d639e', '{"status": "pending", "version": 1, "decided_by": null, "edited_item": null}', '{"status": "rejected", "version": 2, "decided_by": "bob", "edited_item": null, "reason_code": "ambiguous", "comment": "two readings"}');
INSERT INTO public.review_audit VALUES (6, '2026-12-01 15:46:43.638691+00', 'alice', 'decision.edit', 3, '2163891ba5fc96a9', '{"status": "pending", "version": 1, "decided_by": null, "edited_item": null}', '{"status": "edited", "version": 2, "decided_by": "alice", "edited_item": {"id": "4dc5af89a2e95a70", "kind": "open_qa", "prompt": "An edited question?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": "2163891ba5fc96a9", "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "edited", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac", "edited_from": "2163891ba5fc96a9"}}, "reason_code": null, "comment": null}');


--
-- Data for Name: review_decisions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.review_decisions VALUES (1, 1, 'c06c8b913e868f43', 'alice', 'accept', NULL, NULL, 'null', NULL, 1, '2026-12-01 15:46:43.581895+00');
INSERT INTO public.review_decisions VALUES (2, 2, '1987de14290d639e', 'bob', 'reject', 'ambiguous', 'two readings', 'null', NULL, 1, '2026-12-01 15:46:43.614441+00');
INSERT INTO public.review_decisions VALUES (3, 3, '2163891ba5fc96a9', 'alice', 'edit', NULL, NULL, '{"prompt": "An edited question?"}', '--- a/prompt
+++ b/prompt
@@ -1 +1 @@
-[alpha] Question 2: how long does a 102 litre tank take at 12 l/min?
+An edited question?', 1, '2026-12-01 15:46:43.636118+00');


--
-- Data for Name: review_queue; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.review_queue VALUES (4, 'f6e0b8cb0e017099', 'alpha', '20261201T154641-c0b8b4a7', 'evolve', 'pending', 0.25, 4, false, '{"id": "f6e0b8cb0e017099", "kind": "mcq", "prompt": "[alpha] Question 3: how long does a 103 litre tank take at 12 l/min?", "reference_answer": "8.58 minutes", "choices": ["8.58 minutes", "1 hour"], "citations": [{"quote": "holds 103 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s3", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 3}, "parent_id": null, "seed_id": "s3"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 3}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 4.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', NULL, 1, NULL, NULL, NULL, NULL, '2026-12-01 15:46:43.474619+00');
INSERT INTO public.review_queue VALUES (5, 'b5b46cf76b05d43f', 'alpha', '20261201T154641-c0b8b4a7', 'document_qa', 'pending', 0, 5, false, '{"id": "b5b46cf76b05d43f", "kind": "open_qa", "prompt": "[alpha] Question 4: how long does a 104 litre tank take at 12 l/min?", "reference_answer": "8.67 minutes", "choices": [], "citations": [{"quote": "holds 104 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s4", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 4}, "parent_id": null, "seed_id": "s4"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 4}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 5.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', NULL, 1, NULL, NULL, NULL, NULL, '2026-12-01 15:46:43.474619+00');
INSERT INTO public.review_queue VALUES (6, '163005fc230e81d4', 'alpha', '20261201T154641-c0b8b4a7', 'evolve', 'pending', 1, 1, true, '{"id": "163005fc230e81d4", "kind": "open_qa", "prompt": "[alpha] Question 5: how long does a 105 litre tank take at 12 l/min?", "reference_answer": "8.75 minutes", "choices": [], "citations": [{"quote": "holds 105 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s5", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 5}, "parent_id": null, "seed_id": "s5"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 5}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', NULL, 1, NULL, NULL, NULL, NULL, '2026-12-01 15:46:43.474619+00');
INSERT INTO public.review_queue VALUES (7, 'cb369e282135b6f5', 'alpha', '20261201T154641-c0b8b4a7', 'document_qa', 'pending', 0.75, 2, false, '{"id": "cb369e282135b6f5", "kind": "mcq", "prompt": "[alpha] Question 6: how long does a 106 litre tank take at 12 l/min?", "reference_answer": "8.83 minutes", "choices": ["8.83 minutes", "1 hour"], "citations": [{"quote": "holds 106 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s6", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 6}, "parent_id": null, "seed_id": "s6"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 6}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', NULL, 1, NULL, NULL, NULL, NULL, '2026-12-01 15:46:43.474619+00');
INSERT INTO public.review_queue VALUES (8, '8e070596c19c0026', 'alpha', '20261201T154641-c0b8b4a7', 'evolve', 'pending', 0.5, 3, false, '{"id": "8e070596c19c0026", "kind": "open_qa", "prompt": "[alpha] Question 7: how long does a 107 litre tank take at 12 l/min?", "reference_answer": "8.92 minutes", "choices": [], "citations": [{"quote": "holds 107 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s7", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 7}, "parent_id": null, "seed_id": "s7"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 7}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', NULL, 1, NULL, NULL, NULL, NULL, '2026-12-01 15:46:43.474619+00');
INSERT INTO public.review_queue VALUES (2, '1987de14290d639e', 'alpha', '20261201T154641-c0b8b4a7', 'evolve', 'rejected', 1, 2, true, '{"id": "1987de14290d639e", "kind": "open_qa", "prompt": "[alpha] Question 1: how long does a 101 litre tank take at 12 l/min?", "reference_answer": "8.42 minutes", "choices": [], "citations": [{"quote": "holds 101 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s1", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 1}, "parent_id": null, "seed_id": "s1"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 1}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', NULL, 2, NULL, NULL, 'bob', '2026-12-01 15:46:43.612943+00', '2026-12-01 15:46:43.474619+00');
INSERT INTO public.review_queue VALUES (1, 'c06c8b913e868f43', 'alpha', '20261201T154641-c0b8b4a7', 'document_qa', 'accepted', 1, 1, false, '{"id": "c06c8b913e868f43", "kind": "mcq", "prompt": "[alpha] Question 0: how long does a 100 litre tank take at 12 l/min?", "reference_answer": "8.33 minutes", "choices": ["8.33 minutes", "1 hour"], "citations": [{"quote": "holds 100 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s0", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 0}, "parent_id": null, "seed_id": "s0"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 0}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', NULL, 2, NULL, NULL, 'alice', '2026-12-01 15:46:43.574275+00', '2026-12-01 15:46:43.474619+00');
INSERT INTO public.review_queue VALUES (3, '2163891ba5fc96a9', 'alpha', '20261201T154641-c0b8b4a7', 'document_qa', 'edited', 0.5, 3, false, '{"id": "2163891ba5fc96a9", "kind": "open_qa", "prompt": "[alpha] Question 2: how long does a 102 litre tank take at 12 l/min?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": null, "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', '{"id": "4dc5af89a2e95a70", "kind": "open_qa", "prompt": "An edited question?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": "2163891ba5fc96a9", "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "edited", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac", "edited_from": "2163891ba5fc96a9"}}', 2, NULL, NULL, 'alice', '2026-12-01 15:46:43.62825+00', '2026-12-01 15:46:43.474619+00');


--
-- Data for Name: review_queue_flags; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.review_queue_flags VALUES (2, 'rules', 'too_short');
INSERT INTO public.review_queue_flags VALUES (6, 'rules', 'too_short');


--
-- Data for Name: reviewers; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.reviewers VALUES (1, 'alice', '$argon2id$v=19$m=65536,t=3,p=4$pmXGg32bK5DAF5BEhfDveQ$xkrMYeI+GLq1FqBEnvM8kUKacbxjyroL1EmtnqJf25A', 'admin', '2026-12-01 15:46:42.628637+00', 0, NULL);
INSERT INTO public.reviewers VALUES (2, 'bob', '$argon2id$v=19$m=65536,t=3,p=4$Q3ZaAVH19Jk8S0w6aCyh6g$9RU/UGQI3AZxb0+AGUvsj3AXhI9SG5XCNsiZrcsxFuc', 'reviewer', '2026-12-01 15:46:43.453426+00', 0, NULL);


--
-- Data for Name: runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.runs VALUES ('20261201T154641-c0b8b4a7', 'alpha', 'hash-alpha', 'seeds/alpha.yaml', 'succeeded', '2026-12-01 15:46:41.855791+00', '2026-12-01 15:46:41.921854+00', 'target_reached', '2026.01', '{"stages": [{"stage": "rules", "received": 12, "kept": 10, "dropped": {"too_short": 2}}], "stop_reason": null}', '{"generator": {"calls": 12}}', NULL);
INSERT INTO public.runs VALUES ('20261201T154641-3e083f82', 'beta', 'hash-beta', 'seeds/beta.yaml', 'failed', '2026-12-01 15:46:41.929401+00', '2026-12-01 15:46:41.948904+00', 'target_reached', NULL, '{"stages": [{"stage": "rules", "received": 5, "kept": 3, "dropped": {"too_short": 2}}], "stop_reason": null}', '{"generator": {"calls": 5}}', 'EndpointError: refused');
INSERT INTO public.runs VALUES ('20261201T154641-f024afe4', 'alpha', 'hash-alpha', 'seeds/alpha.yaml', 'running', '2026-12-01 15:46:41.953762+00', NULL, NULL, NULL, NULL, NULL, NULL);


--
-- Name: review_audit_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.review_audit_id_seq', 6, true);


--
-- Name: review_decisions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.review_decisions_id_seq', 3, true);


--
-- Name: review_queue_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.review_queue_id_seq', 8, true);


--
-- Name: reviewers_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.reviewers_id_seq', 2, true);


--
-- Name: items items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.items
    ADD CONSTRAINT items_pkey PRIMARY KEY (run_id, id);


--
-- Name: review_audit review_audit_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_audit
    ADD CONSTRAINT review_audit_pkey PRIMARY KEY (id);


--
-- Name: review_decisions review_decisions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_decisions
    ADD CONSTRAINT review_decisions_pkey PRIMARY KEY (id);


--
-- Name: review_queue_flags review_queue_flags_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_queue_flags
    ADD CONSTRAINT review_queue_flags_pkey PRIMARY KEY (entry_id, stage);


--
-- Name: review_queue review_queue_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_queue
    ADD CONSTRAINT review_queue_pkey PRIMARY KEY (id);


--
-- Name: reviewers reviewers_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.reviewers
    ADD CONSTRAINT reviewers_name_key UNIQUE (name);


--
-- Name: reviewers reviewers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.reviewers
    ADD CONSTRAINT reviewers_pkey PRIMARY KEY (id);


--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);


--
-- Name: review_queue uq_review_queue_suite_item; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_queue
    ADD CONSTRAINT uq_review_queue_suite_item UNIQUE (suite, item_id);


--
-- Name: ix_items_review_status; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_items_review_status ON public.items USING btree (review_status);


--
-- Name: ix_items_run_passed; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_items_run_passed ON public.items USING btree (run_id, passed);


--
-- Name: ix_items_suite; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_items_suite ON public.items USING btree (suite);


--
-- Name: ix_review_audit_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_audit_at ON public.review_audit USING btree (at);


--
-- Name: ix_review_audit_entry; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_audit_entry ON public.review_audit USING btree (entry_id, id);


--
-- Name: ix_review_decisions_entry; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_decisions_entry ON public.review_decisions USING btree (entry_id, created_at);


--
-- Name: ix_review_decisions_reviewer; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_decisions_reviewer ON public.review_decisions USING btree (reviewer, created_at);


--
-- Name: ix_review_queue_decided_by; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_decided_by ON public.review_queue USING btree (decided_by, status);


--
-- Name: ix_review_queue_flags_stage; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_flags_stage ON public.review_queue_flags USING btree (stage, entry_id);


--
-- Name: ix_review_queue_generator; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_generator ON public.review_queue USING btree (generator, status);


--
-- Name: ix_review_queue_item; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_item ON public.review_queue USING btree (item_id);


--
-- Name: ix_review_queue_run; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_run ON public.review_queue USING btree (run_id, status);


--
-- Name: ix_review_queue_score; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_score ON public.review_queue USING btree (score);


--
-- Name: ix_review_queue_status_priority; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_status_priority ON public.review_queue USING btree (status, priority, id);


--
-- Name: ix_review_queue_suite_status_priority; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_review_queue_suite_status_priority ON public.review_queue USING btree (suite, status, priority, id);


--
-- Name: ix_runs_suite_started; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_runs_suite_started ON public.runs USING btree (suite, started_at);


--
-- Name: items items_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.items
    ADD CONSTRAINT items_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.runs(id) ON DELETE CASCADE;


--
-- Name: review_decisions review_decisions_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_decisions
    ADD CONSTRAINT review_decisions_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.review_queue(id) ON DELETE CASCADE;


--
-- Name: review_queue_flags review_queue_flags_entry_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.review_queue_flags
    ADD CONSTRAINT review_queue_flags_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES public.review_queue(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


