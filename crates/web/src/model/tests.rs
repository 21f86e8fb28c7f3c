use super::*;
use crate::runner::Request;
use crate::runner::{serve, Reply};
use tornsim_core::scenario;

/// The worker's answer to `req`, as the message the page makes of it (chunks run
/// here directly: the worker's timing needs a browser clock).
fn answer(req: Request) -> Msg {
    answer_at(req, 0.0)
}

/// [`answer`], arriving at `now_ms`.
fn answer_at(req: Request, now_ms: f64) -> Msg {
    let reply = match req {
        Request::Chunk(chunk) => Reply::Chunk(crate::runner::Answer {
            result: chunk.run().map_err(|e| e.to_string()),
            chunk,
            ms: 1.0,
        }),
        other => serve(other).expect("every request the model queues has an answer"),
    };
    Msg::from_reply(reply, now_ms)
}

/// Serves every queued request as the worker would, until none is left.
fn pump(m: &mut Model) {
    while let Some((_, req)) = m.outbox.first().cloned() {
        m.outbox.remove(0);
        m.apply(answer(req));
    }
}

fn unlock_first(src: &str) -> String {
    scenario::move_line(src, "spin_unlock();", "pmdp_get_lockless_sync();").unwrap()
}

#[test]
fn editing_merged_in_the_editor_reaches_the_torn_read() {
    let mut m = Model::from_fragment("preset=merged", false);
    m.apply(Msg::CheckStart);
    pump(&mut m);
    assert_eq!(
        m.check.as_ref().unwrap().as_ref().unwrap().verdict.name(),
        "safe"
    );
    let edited = unlock_first(&m.editor.text);
    m.apply(Msg::ScenarioText(edited.clone()));
    assert_eq!(m.editor.state, EditorState::Parsing);
    pump(&mut m);
    assert_eq!(m.editor.state, EditorState::Ok);
    assert_eq!(m.editor.text, edited, "the user's text is kept as typed");
    m.apply(Msg::CheckStart);
    pump(&mut m);
    assert_eq!(
        m.check.as_ref().unwrap().as_ref().unwrap().verdict.name(),
        "torn"
    );
    // The link now opens the same thing.
    let again = Model::from_fragment(&m.fragment(), false);
    assert_eq!(again.share.config, m.share.config);
}

/// A line move is checked as soon as it parses; typing is not, not even typing that
/// lands before a move's parse has come back.
#[test]
fn a_line_move_is_checked_once_it_parses_and_typing_is_not() {
    let mut m = Model::from_fragment("preset=merged", false);
    let merged = m.editor.text.clone();
    m.apply(Msg::ScenarioMoved(unlock_first(&merged)));
    pump(&mut m);
    assert_eq!(
        m.check.as_ref().unwrap().as_ref().unwrap().verdict.name(),
        "torn"
    );
    m.apply(Msg::ScenarioMoved(merged.clone()));
    m.apply(Msg::ScenarioText(format!("{merged}// a note\n")));
    pump(&mut m);
    // The settings changed, so the old verdict is gone, and no check replaced it.
    assert!(m.check.is_none(), "a check followed the typing");
}

/// A pool of workers keeps two chunks per worker in flight; answers served in any
/// order give the totals of one worker (and of one batch); a worker's failure hands
/// its chunks to the page.
#[test]
fn a_pool_answering_out_of_order_gives_one_workers_totals() {
    let frag = "preset=seed-thread-v1&runs=40000&seed=7&workers=3";
    let mut m = Model::from_fragment(frag, true);
    assert_eq!(m.workers_wanted, Some(3));
    assert!(m.notice.is_none(), "{:?}", m.notice);
    m.apply(Msg::EngineReady {
        workers: 3,
        sink: None,
    });
    m.apply(Msg::Start { now_ms: 0.0 });
    assert_eq!(m.outbox.len(), 6, "two chunks for each of three workers");
    let mut served = 0;
    // The newest request first: answers come back out of order.
    while let Some((_, req)) = m.outbox.pop() {
        m.apply(answer(req));
        served += 1;
        if served == 3 {
            m.apply(Msg::WorkerFailed("gone".into()));
            assert_eq!(m.workers, 1);
        }
    }
    assert_eq!(m.status, Status::Done);
    let cfg = m.share.config.clone();
    let whole = tornsim_core::Batch::new(&cfg, tornsim_core::SchedulerSpec::Random, 7)
        .unwrap()
        .run(40_000);
    assert_eq!(m.campaign.as_ref().unwrap().lanes[0].stats, whole);
    assert!(Model::from_fragment("workers=99", true).notice.is_some());
}

/// Requests reach the engine as they are queued, not after a render; an answer that
/// only adds to the campaign between two refreshes of what is shown leaves the model
/// equal (for the page: no render), and the next chunk goes out all the same.
#[test]
fn answers_between_refreshes_post_chunks_without_a_render() {
    let sent = Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = sent.clone();
    let sink = Sink(Rc::new(move |r, _| log.borrow_mut().push(r)));
    let mut m = Model::from_fragment("preset=seed-thread-v1&runs=400000&seed=7", true);
    m.apply(Msg::CheckStart);
    assert!(sent.borrow().is_empty());
    m.apply(Msg::EngineReady {
        workers: 2,
        sink: Some(sink),
    });
    assert_eq!(
        sent.borrow().len(),
        1,
        "what was queued goes out with the engine"
    );
    m.apply(Msg::Start { now_ms: 0.0 });
    assert_eq!(sent.borrow().len(), 1 + 4, "two chunks per worker");
    let chunk = |m: &Model, i: usize| {
        m.outbox
            .iter()
            .filter(|(_, r)| matches!(r, Request::Chunk(_)))
            .nth(i)
            .unwrap()
            .1
            .clone()
    };
    // The first answer shows; the next one, 90 ms later, does not; one past SHOW_MS
    // does.
    let before = m.clone();
    m.apply(answer_at(chunk(&m, 0), 10.0));
    assert!(m != before);
    let before = m.clone();
    m.apply(answer_at(chunk(&m, 0), 100.0));
    assert!(m == before, "an unshown answer re-rendered");
    assert_eq!(sent.borrow().len(), 1 + 4 + 2, "each answer sent a chunk");
    m.apply(answer_at(chunk(&m, 0), 10.0 + SHOW_MS));
    assert!(m != before);
    let runs = m.shown.as_ref().unwrap().runs();
    assert_eq!(runs, m.campaign.as_ref().unwrap().runs());
    // Anything else shows at once.
    let before = m.clone();
    m.apply(Msg::Pause);
    assert!(m != before);
}

#[test]
fn a_new_fragment_applies_and_drops_what_was_in_flight() {
    let mut m = Model::from_fragment("preset=seed-thread-v1&runs=1000", false);
    m.apply(Msg::Start { now_ms: 0.0 });
    m.apply(Msg::CheckStart);
    let before = m.outbox_seq;
    let in_flight = m.outbox.clone();
    m.apply(Msg::Fragment("#preset=merged&seed=9".into()));
    assert_eq!(m.share.seed, 9);
    assert_eq!(
        m.share.config,
        tornsim_core::preset("merged").unwrap().config
    );
    assert!(m.campaign.is_none() && m.check.is_none() && m.checking.is_none());
    assert!(
        m.editor.text.contains("tornsim merged"),
        "{}",
        m.editor.text
    );
    // Answers to what the old page asked are ignored.
    for (_, r) in in_flight {
        m.apply(answer(r));
    }
    assert!(m.campaign.is_none() && m.check.is_none());
    assert!(m.outbox_seq >= before);
    // The same fragment again changes nothing; a broken one shows a notice.
    let d = m.deliberate;
    m.apply(Msg::Fragment(m.fragment()));
    assert_eq!(m.deliberate, d);
    m.apply(Msg::Fragment("mode=nonsense".into()));
    assert!(m.notice.is_some());
}

#[test]
fn deliberate_changes_are_counted_and_typing_is_not() {
    let mut m = Model::from_fragment("", false);
    m.apply(Msg::Preset("merged".into()));
    m.apply(Msg::Edit(Box::new(|s| s.config.set("readers", "3"))));
    assert_eq!(m.deliberate, 2);
    let t = m.editor.text.replace("readers = 3", "readers = 2");
    m.apply(Msg::ScenarioText(t));
    pump(&mut m);
    assert_eq!(m.share.config.readers, 2);
    assert_eq!(m.deliberate, 2);
}

#[test]
fn a_check_beyond_its_budget_answers_incomplete() {
    let config = tornsim_core::preset("merged").unwrap().config;
    let Some(Reply::Checked { result, .. }) = serve(Request::Check {
        seq: 1,
        config,
        max_states: 100,
    }) else {
        panic!("a check is answered by a verdict")
    };
    let r = result.unwrap();
    assert_eq!(r.verdict, tornsim_core::Verdict::Incomplete);
    assert_eq!(r.stopped_by, Some(tornsim_core::check::Budget::States));
}

#[test]
fn a_verdict_asked_before_an_edit_is_not_shown_after_it() {
    let mut m = Model::from_fragment("preset=merged", false);
    m.apply(Msg::CheckStart);
    let edited = unlock_first(&m.editor.text);
    m.apply(Msg::ScenarioText(edited));
    // Served in order: the check of the old text, then the parse of the new one.
    pump(&mut m);
    assert_eq!(m.check, None);
    assert_eq!(m.checking, None);
}

#[test]
fn a_stale_parse_answer_is_ignored_and_errors_block_runs() {
    let mut m = Model::from_fragment("", false);
    let good = m.editor.text.clone();
    m.apply(Msg::ScenarioText(good.replace("pmd_lock();", "pmd_lok();")));
    m.apply(Msg::ScenarioText(good.replace("pmd_lock();", "pmd_lck();")));
    pump(&mut m);
    let EditorState::Error(e) = &m.editor.state else {
        panic!("{:?}", m.editor.state)
    };
    assert!(
        e.message.contains("pmd_lck"),
        "the latest text's error: {e}"
    );
    assert!(m.invalid.is_some());
    m.apply(Msg::Start { now_ms: 0.0 });
    assert!(m.campaign.is_none(), "no run on a text with an error");
    // A control change keeps the broken text (the user's work) in the editor.
    m.apply(Msg::Edit(Box::new(|s| s.config.set("readers", "3"))));
    assert!(m.editor.text.contains("pmd_lck"));
    // A preset replaces it.
    m.apply(Msg::Preset("merged".into()));
    assert_eq!(m.editor.state, EditorState::Ok);
    assert!(!m.editor.text.contains("pmd_lck"));
}

#[test]
fn a_proof_for_every_cpu_count_shows_its_argument_until_the_settings_change() {
    let mut m = Model::from_fragment("preset=seed-thread-v1", false);
    m.apply(Msg::CheckAnyStart);
    assert!(matches!(m.outbox[0].1, Request::CheckAny { .. }));
    pump(&mut m);
    let any = m
        .any
        .clone()
        .expect("the argument is kept beside the verdict");
    assert!(any.proved && any.argument.applies());
    assert_eq!((any.verdict, any.readers), (tornsim_core::Verdict::Torn, 1));
    let shown = m.check.clone().unwrap().unwrap();
    assert_eq!(
        shown.witness.unwrap().config.readers,
        1,
        "the witness has the fewest readers"
    );
    // A plain check afterwards shows no argument; a setting changed drops both.
    m.apply(Msg::CheckStart);
    assert!(m.any.is_none());
    pump(&mut m);
    assert!(m.any.is_none() && m.check.is_some());
    m.apply(Msg::CheckAnyStart);
    let Some((seq, req)) = m.outbox.first().cloned() else {
        panic!("a request was posted")
    };
    m.apply(Msg::Preset("merged".into()));
    m.apply(answer(req));
    assert!(
        m.any.is_none() && m.check.is_none(),
        "answer {seq} was for the old settings"
    );
}

/// A file the general machine runs: the editor keeps it, the report answers it, the
/// classic controls say why they cannot run it, and a preset brings them back.
#[test]
fn a_general_file_in_the_editor_gets_the_general_machines_answer() {
    let mut m = Model::from_fragment("preset=merged", false);
    let before = m.share.config.clone();
    let (_, src) = tornsim_core::general::FILES
        .iter()
        .find(|(n, _)| *n == "retract-v1-xen")
        .unwrap();
    m.apply(Msg::ScenarioText(src.to_string()));
    pump(&mut m);
    assert_eq!(m.editor.state, EditorState::Ok);
    let r = m
        .editor
        .general
        .as_ref()
        .expect("the general machine's report");
    assert_eq!((r.verdict.name(), r.claim), ("torn", Some(true)));
    assert_eq!(r.witness_steps, Some(18));
    assert!(r.witness.as_ref().unwrap().contains("P2(gup_fast)"));
    assert!(r.hazard_runs.iter().any(|(h, n)| h == "torn" && *n > 0));
    assert_eq!(
        m.share.config, before,
        "the controls keep their configuration"
    );
    assert!(m
        .invalid
        .as_ref()
        .unwrap()
        .message
        .contains("general machine"));
    // The page's link carries the file, and opens to the same answer.
    let link = m.fragment();
    assert!(
        link.starts_with(&format!("scenario={}", tornsim_core::scenario::pack(src))),
        "{link}"
    );
    let mut again = Model::from_fragment(&link, false);
    assert!(again.notice.is_none(), "{:?}", again.notice);
    pump(&mut again);
    assert_eq!(again.editor.general, m.editor.general);
    assert_eq!(again.editor.text, *src);
    assert_eq!(again.fragment(), link);
    // Back to a classic file: the report goes, the controls run again.
    m.apply(Msg::ScenarioText(
        tornsim_core::program::builtin_source("merged")
            .unwrap()
            .to_string(),
    ));
    pump(&mut m);
    assert!(m.editor.general.is_none() && m.invalid.is_none());
    // A safe general file, then a preset from the controls.
    let (_, safe) = tornsim_core::general::FILES
        .iter()
        .find(|(n, _)| *n == "collapse-v1-order")
        .unwrap();
    m.apply(Msg::ScenarioText(safe.to_string()));
    pump(&mut m);
    assert_eq!(m.editor.general.as_ref().unwrap().verdict.name(), "safe");
    m.apply(Msg::Preset("seed-thread-v1".into()));
    assert!(m.editor.general.is_none() && m.invalid.is_none());
}

fn general_file(name: &str) -> &'static str {
    tornsim_core::general::builtin(name).unwrap()
}

/// "Prove for any number of CPUs" on a general file: its report comes back for every
/// walker count, the old one shown until then; asked twice it sends once, and an edit
/// meanwhile drops the answer.
#[test]
fn a_general_file_is_proved_for_any_walker_count_on_request() {
    let mut m = Model::from_fragment("preset=merged", false);
    m.apply(Msg::ScenarioText(
        general_file("retract-v1-xen").to_string(),
    ));
    pump(&mut m);
    let before = m.editor.general.clone().unwrap();
    assert!(before.can_prove_any() && before.any.is_none());
    m.apply(Msg::GeneralProveAny);
    m.apply(Msg::GeneralProveAny);
    assert_eq!(m.outbox.len(), 1, "one request, however many clicks");
    assert!(m.editor.proving_any);
    assert_eq!(
        m.editor.general.as_ref(),
        Some(&before),
        "shown until the answer"
    );
    pump(&mut m);
    assert!(!m.editor.proving_any);
    let after = m.editor.general.clone().unwrap();
    let any = after.any.as_deref().expect("the verdict for every count");
    assert!(any.contains("any number of walkers"), "{any}");
    assert!(!after.can_prove_any(), "asked and answered");
    m.apply(Msg::GeneralProveAny);
    assert!(m.outbox.is_empty(), "nothing more to ask");
    // An edit while the proof is on its way: the answer is of the old text, dropped.
    m.apply(Msg::ScenarioText(
        general_file("retract-v1-xen").to_string() + "\n",
    ));
    pump(&mut m);
    m.apply(Msg::GeneralProveAny);
    m.apply(Msg::ScenarioText(
        general_file("retract-v1-xen").to_string(),
    ));
    assert!(!m.editor.proving_any);
    pump(&mut m);
    assert_eq!(m.editor.general.as_ref().unwrap().any, None);
}

/// A general file's witness and first hazardous run open as traces at their hazard,
/// step back and forth, travel in the link, and close when the file changes.
#[test]
fn a_general_files_runs_open_as_traces_and_travel_in_links() {
    let mut m = Model::from_fragment("preset=merged", false);
    let src = general_file("retract-v1-xen");
    m.apply(Msg::ScenarioText(src.to_string()));
    pump(&mut m);
    let r = m.editor.general.clone().unwrap();
    let witness = r.schedule.clone().unwrap();
    m.apply(Msg::OpenTrace(witness.clone()));
    assert!(m.error.is_none(), "{:?}", m.error);
    assert!(m.trace.is_none(), "not the classic viewer");
    let g = m.general_trace.clone().expect("the general trace is open");
    assert_eq!(g.timeline.frames.len(), 18);
    assert_eq!(g.pos, 18, "opened just after the torn read");
    assert_eq!(
        g.timeline.frames[17].hazard.as_ref().unwrap().0,
        "torn",
        "the witness ends at its hazard"
    );
    assert_eq!(m.share.trace.as_deref(), Some(witness.as_str()));
    m.apply(Msg::StepBy(-5));
    assert_eq!(m.general_trace.as_ref().unwrap().pos, 13);
    m.apply(Msg::StepBy(100));
    assert_eq!(
        m.general_trace.as_ref().unwrap().pos,
        18,
        "clamped at the end"
    );
    m.apply(Msg::Seek(0));
    assert_eq!(m.general_trace.as_ref().unwrap().pos, 0);
    m.apply(Msg::StepBy(-1));
    assert_eq!(
        m.general_trace.as_ref().unwrap().pos,
        0,
        "clamped at the start"
    );
    // The link opens the same run, at its hazard.
    let link = m.fragment();
    assert!(link.contains(&format!("trace={witness}")), "{link}");
    let mut again = Model::from_fragment(&link, false);
    assert!(again.notice.is_none(), "{:?}", again.notice);
    pump(&mut again);
    let g2 = again
        .general_trace
        .as_ref()
        .expect("the link's trace opens");
    assert_eq!((g2.pos, &g2.timeline), (18, &g.timeline));
    assert_eq!(again.fragment(), link);
    // The first random run with a hazard opens too.
    let first = r.first_schedule.clone().unwrap();
    m.apply(Msg::OpenTrace(first.clone()));
    let g3 = m.general_trace.as_ref().unwrap();
    assert_eq!(g3.timeline.schedule, first);
    assert!(g3.timeline.hazard_step().is_some());
    // A schedule of another file is refused with the reason, and changes nothing.
    let other = general_file("collapse-v1-order");
    let p = tornsim_core::general::load(other).unwrap();
    let foreign = tornsim_core::general::encode(&p, &[tornsim_core::general::GChoice::step(0)]);
    m.apply(Msg::OpenTrace(foreign));
    assert!(m.error.as_ref().unwrap().contains("another scenario file"));
    assert_eq!(m.general_trace.as_ref().unwrap().timeline.schedule, first);
    // Editing the file closes its run, and the link loses it.
    m.apply(Msg::ScenarioText(format!("{src}\n")));
    assert!(m.general_trace.is_none() && m.share.trace.is_none());
    pump(&mut m);
    assert!(!m.fragment().contains("trace="));
    // A link with a broken trace for a general file says so and shows the defaults.
    let bad = link.replace(&witness, "tg1.nope");
    let m = Model::from_fragment(&bad, false);
    assert!(
        m.notice.as_ref().unwrap().contains("trace"),
        "{:?}",
        m.notice
    );
}

/// The closing of a run by a preset: the link must not keep a trace of a file gone.
#[test]
fn a_preset_closes_a_general_run() {
    let mut m = Model::from_fragment("preset=merged", false);
    m.apply(Msg::ScenarioText(
        general_file("munmap-get-page-before").to_string(),
    ));
    pump(&mut m);
    let s = m.editor.general.clone().unwrap().schedule.unwrap();
    m.apply(Msg::OpenTrace(s));
    assert!(m.general_trace.is_some());
    m.apply(Msg::Preset("seed-thread-v1".into()));
    assert!(m.general_trace.is_none() && m.share.trace.is_none());
    assert!(!m.fragment().contains("trace="));
}

/// A general file's random runs: parts across the engine, merged to the batch the core
/// runs at once; Stop ends them after the parts in flight; an edit drops them.
#[test]
fn a_general_files_random_runs_add_up_to_the_cores_batch() {
    use tornsim_core::sched::SchedulerSpec;
    let mut m = Model::from_fragment("preset=merged", false);
    let src = general_file("retract-v1-xen");
    m.apply(Msg::ScenarioText(src.to_string()));
    pump(&mut m);
    let spec = SchedulerSpec::Pct { depth: 8 };
    m.apply(Msg::GeneralRunStart { runs: 5_000, spec });
    let g = m.general_runs.as_ref().unwrap();
    assert_eq!((g.pending.len(), g.next), (2, 4_000), "two parts in flight");
    pump(&mut m);
    let g = m.general_runs.clone().unwrap();
    assert!(g.finished() && !g.stopped && g.error.is_none());
    let mut want = tornsim_core::general::RunsPart {
        src: src.to_string(),
        spec,
        seed: m.share.seed,
        start: 0,
        count: 5_000,
    }
    .run()
    .unwrap();
    let mut got = g.stats.clone();
    want.hazards.sort();
    got.hazards.sort();
    assert_eq!(got, want);
    assert!(got.count(tornsim_core::Hazard::Torn) > 0);
    assert_eq!(
        g.series.iter().map(|p| p.0).collect::<Vec<_>>(),
        [0, 2_000, 4_000, 5_000]
    );
    // Its first hazardous run opens as a trace.
    m.apply(Msg::OpenTrace(got.first.clone().unwrap().1));
    assert!(m
        .general_trace
        .as_ref()
        .unwrap()
        .timeline
        .hazard_step()
        .is_some());
    // Stop: the parts in flight come back, no more are asked for.
    m.apply(Msg::GeneralRunStart {
        runs: 100_000,
        spec: SchedulerSpec::Random,
    });
    m.apply(Msg::GeneralRunStop);
    pump(&mut m);
    let g = m.general_runs.as_ref().unwrap();
    assert!(g.finished() && g.stopped);
    assert_eq!(g.stats.runs, 4_000);
    // A bad depth is refused with the reason; an edit drops the runs and their parts.
    m.apply(Msg::GeneralRunStart {
        runs: 10,
        spec: SchedulerSpec::Pct { depth: 0 },
    });
    assert!(m.error.is_some() && m.general_runs.is_none());
    m.apply(Msg::GeneralRunStart {
        runs: 100_000,
        spec: SchedulerSpec::Random,
    });
    m.apply(Msg::ScenarioText(format!("{src}\n")));
    assert!(m.general_runs.is_none());
    assert!(!m
        .outbox
        .iter()
        .any(|(_, r)| matches!(r, Request::GeneralRuns { .. })));
}

/// The cost run's charts come with its first answer and stay through the next cost
/// run (their lanes emptied, not taken down), until a plain batch is shown.
#[test]
fn a_second_cost_run_keeps_the_cost_charts_on_the_page() {
    let mut m = Model::from_fragment("preset=merged&runs=2000&seed=2", true);
    m.apply(Msg::EngineReady {
        workers: 1,
        sink: None,
    });
    // Chunks only: the rate estimates that follow are not this test's business.
    let run_chunks = |m: &mut Model| {
        while let Some(i) = m
            .outbox
            .iter()
            .position(|(_, r)| matches!(r, Request::Chunk(_)))
        {
            let (_, req) = m.outbox.remove(i);
            m.apply(answer(req));
        }
    };
    m.apply(Msg::StartCost { now_ms: 0.0 });
    assert!(
        !m.cost_charts,
        "not before the first answer: the click's task stays short"
    );
    let (_, first) = m.outbox.remove(0);
    m.apply(answer(first));
    assert!(m.cost_charts);
    run_chunks(&mut m);
    assert_eq!(m.status, Status::Done);
    assert!(!m.rates.is_empty(), "the rates were asked for");
    m.apply(Msg::StartCost { now_ms: 0.0 });
    let shown = m.shown.as_ref().unwrap();
    assert!(shown.lanes.iter().all(|l| l.runs() == 0) && m.rates.is_empty());
    assert!(m.cost_charts, "kept, with empty lanes");
    m.apply(Msg::Start { now_ms: 0.0 });
    assert!(!m.cost_charts, "a plain batch takes them down");
    run_chunks(&mut m);
    assert!(!m.cost_charts);
}

/// A search in flight shows how far it has got; Cancel drops it (the engine hears so),
/// and its late answer is not shown, nor is progress for another search.
#[test]
fn a_search_shows_its_progress_and_cancel_drops_it() {
    let sent = Rc::new(std::cell::RefCell::new(Vec::new()));
    let log = sent.clone();
    let sink = Sink(Rc::new(move |r, _| log.borrow_mut().push(r)));
    let mut m = Model::from_fragment("preset=merged", true);
    m.apply(Msg::EngineReady {
        workers: 2,
        sink: Some(sink),
    });
    m.apply(Msg::CheckStart);
    let seq = m.checking.expect("a search in flight");
    let progress = |states| tornsim_core::CheckProgress {
        states,
        depth: 3,
        ..Default::default()
    };
    m.apply(Msg::CheckProgress {
        seq: seq + 1,
        progress: progress(9),
    });
    assert_eq!(m.check_progress, None, "another search's progress");
    m.apply(Msg::CheckProgress {
        seq,
        progress: progress(5),
    });
    assert_eq!(m.check_progress.map(|p| p.states), Some(5));
    m.apply(Msg::CheckCancel);
    assert_eq!((m.checking, m.check_progress), (None, None));
    assert!(m.outbox.iter().all(|(id, _)| *id != seq));
    assert!(matches!(sent.borrow().last(), Some(Request::CancelCheck { seq: s }) if *s == seq));
    m.apply(Msg::CheckDone {
        seq,
        result: Err("late".into()),
    });
    assert_eq!(m.check, None, "a cancelled search's answer");
    // A change of settings cancels the search in flight too.
    m.apply(Msg::CheckStart);
    let again = m.checking.unwrap();
    m.settings_changed();
    assert!(matches!(sent.borrow().last(), Some(Request::CancelCheck { seq: s }) if *s == again));
}
