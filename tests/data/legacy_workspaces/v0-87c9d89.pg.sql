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
-- Data for Name: items; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'c06c8b913e868f43', 1, 'alpha', '{"id": "c06c8b913e868f43", "kind": "mcq", "prompt": "[alpha] Question 0: how long does a 100 litre tank take at 12 l/min?", "reference_answer": "8.33 minutes", "choices": ["8.33 minutes", "1 hour"], "citations": [{"quote": "holds 100 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s0", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 0}, "parent_id": null, "seed_id": "s0"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 0}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', '1987de14290d639e', 2, 'alpha', '{"id": "1987de14290d639e", "kind": "open_qa", "prompt": "[alpha] Question 1: how long does a 101 litre tank take at 12 l/min?", "reference_answer": "8.42 minutes", "choices": [], "citations": [{"quote": "holds 101 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s1", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 1}, "parent_id": null, "seed_id": "s1"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 1}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', '2163891ba5fc96a9', 3, 'alpha', '{"id": "2163891ba5fc96a9", "kind": "open_qa", "prompt": "[alpha] Question 2: how long does a 102 litre tank take at 12 l/min?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": null, "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'f6e0b8cb0e017099', 4, 'alpha', '{"id": "f6e0b8cb0e017099", "kind": "mcq", "prompt": "[alpha] Question 3: how long does a 103 litre tank take at 12 l/min?", "reference_answer": "8.58 minutes", "choices": ["8.58 minutes", "1 hour"], "citations": [{"quote": "holds 103 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s3", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 3}, "parent_id": null, "seed_id": "s3"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 3}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 4.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'b5b46cf76b05d43f', 5, 'alpha', '{"id": "b5b46cf76b05d43f", "kind": "open_qa", "prompt": "[alpha] Question 4: how long does a 104 litre tank take at 12 l/min?", "reference_answer": "8.67 minutes", "choices": [], "citations": [{"quote": "holds 104 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s4", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 4}, "parent_id": null, "seed_id": "s4"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 4}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 5.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', '163005fc230e81d4', 6, 'alpha', '{"id": "163005fc230e81d4", "kind": "open_qa", "prompt": "[alpha] Question 5: how long does a 105 litre tank take at 12 l/min?", "reference_answer": "8.75 minutes", "choices": [], "citations": [{"quote": "holds 105 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s5", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 5}, "parent_id": null, "seed_id": "s5"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 5}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'cb369e282135b6f5', 7, 'alpha', '{"id": "cb369e282135b6f5", "kind": "mcq", "prompt": "[alpha] Question 6: how long does a 106 litre tank take at 12 l/min?", "reference_answer": "8.83 minutes", "choices": ["8.83 minutes", "1 hour"], "citations": [{"quote": "holds 106 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s6", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 6}, "parent_id": null, "seed_id": "s6"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 6}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', '8e070596c19c0026', 8, 'alpha', '{"id": "8e070596c19c0026", "kind": "open_qa", "prompt": "[alpha] Question 7: how long does a 107 litre tank take at 12 l/min?", "reference_answer": "8.92 minutes", "choices": [], "citations": [{"quote": "holds 107 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s7", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 7}, "parent_id": null, "seed_id": "s7"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 7}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'c713c05854a1324a', 9, 'alpha', '{"id": "c713c05854a1324a", "kind": "open_qa", "prompt": "[alpha] Question 8: how long does a 108 litre tank take at 12 l/min?", "reference_answer": "9.00 minutes", "choices": [], "citations": [{"quote": "holds 108 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s8", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 8}, "parent_id": null, "seed_id": "s8"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 8}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 4.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'cf174c53497a7076', 10, 'alpha', '{"id": "cf174c53497a7076", "kind": "mcq", "prompt": "[alpha] Question 9: how long does a 109 litre tank take at 12 l/min?", "reference_answer": "9.08 minutes", "choices": ["9.08 minutes", "1 hour"], "citations": [{"quote": "holds 109 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s9", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 9}, "parent_id": null, "seed_id": "s9"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 9}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 5.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'a30406f5fe655a10', 11, 'alpha', '{"id": "a30406f5fe655a10", "kind": "open_qa", "prompt": "[alpha] Question 10: how long does a 110 litre tank take at 12 l/min?", "reference_answer": "9.17 minutes", "choices": [], "citations": [{"quote": "holds 110 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s10", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 10}, "parent_id": null, "seed_id": "s10"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 10}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-7bcfddd8', 'ef7daeaa5514b41e', 12, 'alpha', '{"id": "ef7daeaa5514b41e", "kind": "open_qa", "prompt": "[alpha] Question 11: how long does a 111 litre tank take at 12 l/min?", "reference_answer": "9.25 minutes", "choices": [], "citations": [{"quote": "holds 111 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s11", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 11}, "parent_id": null, "seed_id": "s11"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 11}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.756472+00');
INSERT INTO public.items VALUES ('20261201T154632-82fbc5a0', '4030a8897b34cf23', 1, 'beta', '{"id": "4030a8897b34cf23", "kind": "mcq", "prompt": "[beta] Question 0: how long does a 100 litre tank take at 12 l/min?", "reference_answer": "8.33 minutes", "choices": ["8.33 minutes", "1 hour"], "citations": [{"quote": "holds 100 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s0", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 0}, "parent_id": null, "seed_id": "s0"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 0}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.848699+00');
INSERT INTO public.items VALUES ('20261201T154632-82fbc5a0', '793a114cd3a4adcc', 2, 'beta', '{"id": "793a114cd3a4adcc", "kind": "open_qa", "prompt": "[beta] Question 1: how long does a 101 litre tank take at 12 l/min?", "reference_answer": "8.42 minutes", "choices": [], "citations": [{"quote": "holds 101 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s1", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 1}, "parent_id": null, "seed_id": "s1"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 1}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:32.848699+00');
INSERT INTO public.items VALUES ('20261201T154632-82fbc5a0', '39c3ff95f5f6f251', 3, 'beta', '{"id": "39c3ff95f5f6f251", "kind": "open_qa", "prompt": "[beta] Question 2: how long does a 102 litre tank take at 12 l/min?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": null, "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.848699+00');
INSERT INTO public.items VALUES ('20261201T154632-82fbc5a0', 'c14f79a840625ffe', 4, 'beta', '{"id": "c14f79a840625ffe", "kind": "mcq", "prompt": "[beta] Question 3: how long does a 103 litre tank take at 12 l/min?", "reference_answer": "8.58 minutes", "choices": ["8.58 minutes", "1 hour"], "citations": [{"quote": "holds 103 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s3", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 3}, "parent_id": null, "seed_id": "s3"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 3}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 4.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.848699+00');
INSERT INTO public.items VALUES ('20261201T154632-82fbc5a0', 'ffe8366136dade5a', 5, 'beta', '{"id": "ffe8366136dade5a", "kind": "open_qa", "prompt": "[beta] Question 4: how long does a 104 litre tank take at 12 l/min?", "reference_answer": "8.67 minutes", "choices": [], "citations": [{"quote": "holds 104 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s4", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 4}, "parent_id": null, "seed_id": "s4"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 4}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 5.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.848699+00');
INSERT INTO public.items VALUES ('20261201T154632-3683a722', 'c06c8b913e868f43', 1, 'alpha', '{"id": "c06c8b913e868f43", "kind": "mcq", "prompt": "[alpha] Question 0: how long does a 100 litre tank take at 12 l/min?", "reference_answer": "8.33 minutes", "choices": ["8.33 minutes", "1 hour"], "citations": [{"quote": "holds 100 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s0", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 0}, "parent_id": null, "seed_id": "s0"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 0}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 1.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.899928+00');
INSERT INTO public.items VALUES ('20261201T154632-3683a722', '1987de14290d639e', 2, 'alpha', '{"id": "1987de14290d639e", "kind": "open_qa", "prompt": "[alpha] Question 1: how long does a 101 litre tank take at 12 l/min?", "reference_answer": "8.42 minutes", "choices": [], "citations": [{"quote": "holds 101 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s1", "lineage": {"generator": "evolve", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 1}, "parent_id": null, "seed_id": "s1"}, "verdicts": [{"stage": "rules", "passed": false, "score": 1.0, "reason": "too_short", "details": {"len": 1}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 2.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', false, 'rules', 'too_short', 'pending', '2026-12-01 15:46:32.899928+00');
INSERT INTO public.items VALUES ('20261201T154632-3683a722', '2163891ba5fc96a9', 3, 'alpha', '{"id": "2163891ba5fc96a9", "kind": "open_qa", "prompt": "[alpha] Question 2: how long does a 102 litre tank take at 12 l/min?", "reference_answer": "8.50 minutes", "choices": [], "citations": [{"quote": "holds 102 litres", "document": "docs/t.md", "section": null, "chunk_id": null, "start": 1, "end": 9}], "seed_id": "s2", "lineage": {"generator": "document_qa", "operator": "deepen", "model": "m", "endpoint": null, "params": {"temperature": 0.7, "n": 2}, "parent_id": null, "seed_id": "s2"}, "verdicts": [{"stage": "rules", "passed": true, "score": 1.0, "reason": null, "details": {"len": 2}, "ranks_quality": false}, {"stage": "llm_judge", "passed": true, "score": 3.0, "reason": null, "details": {}, "ranks_quality": true}], "review_status": "pending", "metadata": {"domain": "tanks", "unicode": "l\u00e4nge \u2248 \u20ac"}}', true, NULL, NULL, 'pending', '2026-12-01 15:46:32.899928+00');


--
-- Data for Name: runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.runs VALUES ('20261201T154632-7bcfddd8', 'alpha', 'hash-alpha', 'seeds/alpha.yaml', 'succeeded', '2026-12-01 15:46:32.696679+00', '2026-12-01 15:46:32.824724+00', 'target_reached', '2026.01', '{"stages": [{"stage": "rules", "received": 12, "kept": 10, "dropped": {"too_short": 2}}], "stop_reason": null}', '{"generator": {"calls": 12}}', NULL);
INSERT INTO public.runs VALUES ('20261201T154632-82fbc5a0', 'beta', 'hash-beta', 'seeds/beta.yaml', 'failed', '2026-12-01 15:46:32.84093+00', '2026-12-01 15:46:32.882008+00', 'target_reached', NULL, '{"stages": [{"stage": "rules", "received": 5, "kept": 3, "dropped": {"too_short": 2}}], "stop_reason": null}', '{"generator": {"calls": 5}}', 'EndpointError: refused');
INSERT INTO public.runs VALUES ('20261201T154632-3683a722', 'alpha', 'hash-alpha', 'seeds/alpha.yaml', 'running', '2026-12-01 15:46:32.886018+00', NULL, NULL, NULL, NULL, NULL, NULL);


--
-- Name: items items_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.items
    ADD CONSTRAINT items_pkey PRIMARY KEY (run_id, id);


--
-- Name: runs runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.runs
    ADD CONSTRAINT runs_pkey PRIMARY KEY (id);


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
-- Name: ix_runs_suite_started; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_runs_suite_started ON public.runs USING btree (suite, started_at);


--
-- Name: items items_run_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.items
    ADD CONSTRAINT items_run_id_fkey FOREIGN KEY (run_id) REFERENCES public.runs(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--


