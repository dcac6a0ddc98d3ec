"""`flatten genesys ...`: pull conversations, aggregates, users and queues from a Genesys Cloud org.

Credentials come from GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET and GENESYS_REGION (environment
or a .env file). Every command loads into --db through a mapping (-m), records its progress in
the same database, and prints one summary line on stderr; a progress bar shows when stderr is a
terminal. See docs/genesys.md.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import timedelta
from pathlib import Path

import click
import sqlalchemy as sa

from flattener import Store, open_plan
from flattener.cli import db_option, debug_option

from .aggregates import AggregatesQuery
from .client import GenesysClient
from .config import Settings
from .details import DetailsQuery
from .intervals import format_instant, format_interval, parse_duration, parse_instant, parse_interval
from .jobs import DetailsJobs
from .lookups import LOOKUPS, entities
from .runner import loading_run
from .state import State, run_status, runs, utc
from .sync import Sync

CLIENT = "genesys.client"
MAX_QUERY_WINDOW = timedelta(days=31)  # the details query's interval limit [observed]


def _parsed(parse):
    """A click callback that parses an option with `parse`, its ValueError becoming a usage error."""
    def callback(_ctx, _param, value):
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as error:
            raise click.BadParameter(str(error)) from None
    return callback


def _positive_duration(text: str) -> timedelta:
    duration = parse_duration(text)
    if duration <= timedelta(0):
        raise ValueError("must be longer than zero")
    return duration


def _iso_duration(text: str) -> str:
    """Checked like any duration, but passed to the API as the ISO-8601 text it wants."""
    _positive_duration(text)
    if not text.strip().upper().startswith("P"):
        raise ValueError("give an ISO-8601 duration, as the API expects: PT30M, PT1H, P1D")
    return text.strip().upper()


def _query_window(text: str) -> timedelta:
    """A details query window: the API takes at most 31 days per request [observed]."""
    duration = _positive_duration(text)
    if duration > MAX_QUERY_WINDOW:
        raise ValueError(f"{text!r}: the details query takes at most 31 days per request (the API's limit); "
                         "give 31d or less")
    return duration


_interval, _instant, _duration = _parsed(parse_interval), _parsed(parse_instant), _parsed(_positive_duration)
_window = _parsed(_query_window)


def _json_file(_ctx, param, value):
    if value is None:
        return {}
    try:
        data = json.loads(Path(value).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise click.BadParameter(f"{value}: {error}") from None
    if not isinstance(data, dict):
        raise click.BadParameter(f"{value}: expected a JSON object")
    reserved = {"interval", "paging"} & data.keys()
    if reserved:
        raise click.BadParameter(f"{value}: {', '.join(sorted(reserved))} are set by the command, not the file")
    return data


def _names(_ctx, _param, values):
    """Repeatable and comma-separated: --metrics nOffered,tTalk --metrics tHandle."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


interval_option = click.option("--interval", required=True, callback=_interval, metavar="START/END",
                               help="UTC dates or ISO-8601 date-times, END excluded: 2024-05-01/2024-05-08, "
                                    "2024-05-01T00:00:00Z/P7D.")
batch_option = click.option("--batch-size", type=click.IntRange(1, 10000), default=500, show_default=True,
                            help="Documents written per batch; progress is committed with each batch.")
query_option = click.option("--query", "query", callback=_json_file, metavar="FILE",
                            help="JSON object merged into each request body: conversationFilters, segmentFilters, "
                                 "evaluationFilters, surveyFilters, order ...")


def mapping_option(default: str):
    return click.option("-m", "--mapping", default=default, show_default=True,
                        help="Mapping file, or the name of a bundled mapping.")


def _client(ctx: click.Context) -> GenesysClient:
    """The run's Genesys client, made on first use (so --help needs no credentials)."""
    root = ctx.find_root()
    if CLIENT not in root.meta:
        options = ctx.find_object(GroupOptions)
        client = GenesysClient(Settings.from_environment(env_file=options.env_file))
        root.meta[CLIENT] = client
        root.call_on_close(client.close)
    return root.meta[CLIENT]


class GroupOptions:
    def __init__(self, env_file: str):
        self.env_file = env_file


VERBOSITY, LOG_HANDLER = "genesys.verbosity", "genesys.log_handler"


def _verbosity(ctx: click.Context, _param, count: int) -> None:
    """-v before or after the subcommand, or both: each adds a level (-v retries and waits, -vv every request)."""
    if not count:
        return
    root = ctx.find_root()
    root.meta[VERBOSITY] = level = root.meta.get(VERBOSITY, 0) + count
    logger = logging.getLogger("genesys")
    if LOG_HANDLER not in root.meta:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        root.meta[LOG_HANDLER] = handler
        previous = logger.level
        root.call_on_close(lambda: (logger.removeHandler(handler), logger.setLevel(previous)))
    logger.setLevel(logging.DEBUG if level > 1 else logging.INFO)


verbose_option = click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbosity,
                              help="Log retries and waits (-v) or every request (-vv) on stderr.")


@click.group()
@click.option("--env-file", default=".env", show_default=True, type=click.Path(dir_okay=False),
              help="A .env file with GENESYS_* settings; the environment overrides it. Ignored when absent.")
@verbose_option
@click.pass_context
def genesys(ctx: click.Context, env_file: str):
    """Load conversations, aggregates, users and queues from a Genesys Cloud org.

    Set GENESYS_CLIENT_ID, GENESYS_CLIENT_SECRET (an OAuth client with the Client Credentials
    grant) and GENESYS_REGION (mypurecloud.ie, eu-west-1 or eu_west_1), in the environment or a
    .env file."""
    ctx.obj = GroupOptions(env_file)


def _say(message: str) -> None:
    click.echo(message, err=True)


def _report(run, what: str) -> None:
    for line in run.warnings():
        _say(line)
    _say(run.summary(what))


def with_options(options):
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


conversation_options = [query_option, mapping_option("conversation"), db_option, batch_option, debug_option,
                        verbose_option]


@genesys.command()
@interval_option
@click.option("--window", callback=_window, default="7d", show_default=True,
              help="Query the interval this much at a time (the API takes at most 31 days).")
@click.option("--page-size", type=click.IntRange(1, 100), default=100, show_default=True,
              help="Conversations per page, at most 100 (the API's safe maximum [observed]).")
@click.option("--paging-cap", type=click.IntRange(1), default=100_000, show_default=True,
              help="Results the API lets one query page through; windows over it are split.")
@with_options(conversation_options)
@click.pass_context
def details(ctx, interval, window, page_size, paging_cap, query, mapping, db, batch_size):
    """Load the conversations that started in --interval, through the details query.

    The interval is read in windows, page by page; each batch is committed as it arrives.
    Conversations the API returns twice are loaded once; running again replaces them."""
    client = _client(ctx)
    reader = DetailsQuery(client, window, page_size, paging_cap, query)
    arguments = {"interval": format_interval(*interval), "window": str(window), "query": query}
    with loading_run(client, "details", arguments, mapping, db, batch_size, "conversations") as run:
        for page in reader.pages(*interval):
            if page.number == 1:
                run.sink.progress.expect(page.total_hits)
            for conversation in page.conversations:
                run.sink.add(conversation, source=page.source)
            if page.last:
                run.sink.seen.clear()
            run.sink.checkpoint()
    _report(run, "conversations")


def _jobs(client, page_size, window, poll_interval, timeout, query, purpose) -> DetailsJobs:
    return DetailsJobs(client, page_size=page_size, poll_interval=poll_interval, timeout=timeout.total_seconds(),
                       window=window, query=query, purpose=purpose, warn=lambda message: _say(f"warning: {message}"))


job_options = [
    click.option("--page-size", type=click.IntRange(1), default=None,
                 help="Conversations per results page (default: the API's choice)."),
    click.option("--job-window", "job_window", callback=_duration, default="31d", show_default=True,
                 help="The longest interval one job is given; longer intervals run several jobs in turn."),
    click.option("--poll-interval", type=click.FloatRange(0.0, min_open=True), default=2.0, show_default=True,
                 envvar="GENESYS_POLL_INTERVAL",
                 help="Seconds before the first status poll; the pause grows by half each poll, up to 30 s. "
                      "Env: GENESYS_POLL_INTERVAL."),
    click.option("--timeout", callback=_duration, default="6h", show_default=True,
                 help="Give up waiting for one job after this long (it is resumed by the next run)."),
]


@genesys.command()
@interval_option
@with_options(job_options)
@with_options(conversation_options)
@click.pass_context
def job(ctx, interval, page_size, job_window, poll_interval, timeout, query, mapping, db, batch_size):
    """Export the conversations active during --interval through details jobs (the bulk API).

    Checks the data availability date, submits, polls until FULFILLED, reads the results page by
    page. The job id and the next cursor are kept in the database: if the run stops, running the
    same command again resumes where it stopped."""
    client = _client(ctx)
    jobs = _jobs(client, page_size, job_window, poll_interval, timeout, query, "job")
    warning = jobs.check_available(*interval)
    if warning:
        _say(f"warning: {warning}")
    arguments = {"interval": format_interval(*interval), "query": query, "pageSize": page_size}
    with loading_run(client, "job", arguments, mapping, db, batch_size, "conversations") as run:
        jobs.export(*interval, run.sink)
    _report(run, "conversations")


@genesys.command()
@click.option("--since", callback=_instant, metavar="START",
              help="Where the first sync starts (later runs continue from their watermark); given again, it "
                   "re-reads from there.")
@click.option("--until", callback=_instant, metavar="END", help="Where to stop (default: now).")
@click.option("--lookback", callback=_duration, default="1d", show_default=True,
              help="Re-read this much before the watermark, for conversations that ended, were evaluated or "
                   "re-opened since the last sync.")
@click.option("--jobs/--no-jobs", "use_jobs", default=True, show_default=True,
              help="Read data older than the data availability date through details jobs (with participant "
                   "attributes), or read everything through the details query.")
@click.option("--window", callback=_window, default="7d", show_default=True,
              help="Details query window (at most 31 days).")
@click.option("--force", is_flag=True,
              help="Accept a --since after the watermark, skipping the conversations in between for good.")
@with_options(job_options)
@with_options(conversation_options)
@click.pass_context
def sync(ctx, since, until, lookback, use_jobs, window, force, page_size, job_window, poll_interval, timeout, query,
         mapping, db, batch_size):
    """Load everything since the last successful sync: run it from cron, as often as you like.

    Reads from the watermark (minus --lookback) to now; the watermark is kept in the database
    and moves only once what is before it is stored. Running it twice changes nothing that did
    not change in Genesys."""
    client = _client(ctx)
    details_reader = DetailsQuery(client, window, query=query)
    jobs = _jobs(client, page_size, job_window, poll_interval, timeout, query, "sync") if use_jobs else None
    syncer = Sync(details_reader, jobs, lookback, force=force, warn=lambda message: _say(f"warning: {message}"))
    arguments = {"since": since, "until": until, "lookback": str(lookback), "jobs": use_jobs, "query": query}
    with loading_run(client, "sync", arguments, mapping, db, batch_size, "conversations") as run:
        report = syncer.run(run.sink, since, until)
    how = (f"jobs until {format_instant(report.jobs_until)}, then the details query" if report.jobs_until
           else "the details query")
    was = format_instant(report.previous_watermark) if report.previous_watermark else "none"
    _say(f"synced {format_interval(report.start, report.end)} ({how}); watermark was {was}, now "
         f"{format_instant(report.watermark)}")
    _report(run, "conversations")


@genesys.command()
@interval_option
@click.option("--metrics", multiple=True, required=True, callback=_names,
              help="Metrics to compute, comma-separated or repeated: nOffered,tAnswered,tTalk,tHandle ...")
@click.option("--group-by", "group_by", multiple=True, callback=_names,
              help="Dimensions to group by, comma-separated or repeated: queueId,mediaType ...")
@click.option("--granularity", callback=_parsed(_iso_duration),
              help="Bucket size as an ISO-8601 duration (PT30M, PT1H, P1D); default: one bucket.")
@click.option("--filter", "filter_file", callback=_json_file, metavar="FILE",
              help="A JSON file with the query's `filter` object.")
@click.option("--time-zone", help="IANA zone for bucket boundaries (default UTC).")
@mapping_option("aggregates")
@db_option
@batch_option
@debug_option
@verbose_option
@click.pass_context
def aggregates(ctx, interval, metrics, group_by, granularity, filter_file, time_zone, mapping, db, batch_size):
    """Load conversation aggregates: one row per group and time bucket, with each metric's stats.

    Querying an overlapping interval again replaces the buckets it covers."""
    client = _client(ctx)
    query = AggregatesQuery(client, metrics, group_by, granularity, filter_file or None, time_zone)
    arguments = {"interval": format_interval(*interval), "metrics": metrics, "groupBy": group_by,
                 "granularity": granularity, "filter": filter_file, "timeZone": time_zone}
    with loading_run(client, "aggregates", arguments, mapping, db, batch_size, "buckets") as run:
        for document in query.documents(*interval):
            run.sink.add(document, source=f"aggregates {format_interval(*interval)}")
        run.sink.checkpoint(force=True)
    _say(f"query id {query.query_id}")
    _report(run, "buckets")


def _lookup_command(name: str):
    lookup = LOOKUPS[name]

    @click.option("--page-size", type=click.IntRange(1, 500), default=100, show_default=True,
                  help="Entities per page (the API's default is 25; its maximum is not documented).")
    @mapping_option(name)
    @db_option
    @batch_option
    @debug_option
    @verbose_option
    @click.pass_context
    def command(ctx, page_size, mapping, db, batch_size):
        client = _client(ctx)
        with loading_run(client, name, {"pageSize": page_size}, mapping, db, batch_size, name) as run:
            sink = run.sink
            listed = set()
            for page in entities(client, lookup, page_size):
                for entity in page:
                    sink.add(entity, source=f"{lookup.path}")
                    listed.add(sink.loader.flattener.key_of(entity))
                sink.checkpoint()
            sink.loader.flush()
            stale = _stale_keys(sink.session, listed)
            sink.session.delete(stale)
            sink.checkpoint(force=True)
        _say(f"removed {len(stale)} {name} no longer listed" if stale else f"every stored {name[:-1]} is still listed")
        _report(run, name)

    command.__doc__ = (f"Load every {name[:-1]} of the org (GET {lookup.path}), replacing the table: "
                       f"{name} no longer listed are removed.")
    return genesys.command(name)(command)


def _stale_keys(session, listed: set) -> list[tuple]:
    stale, after = [], None
    while keys := session.keys(after):
        stale.extend(key for key in keys if key not in listed)
        after = keys[-1]
    return stale


users = _lookup_command("users")
queues = _lookup_command("queues")


@genesys.command()
@mapping_option("conversation")
@db_option
@debug_option
@verbose_option
def status(mapping, db):
    """Show the sync watermark, unfinished jobs and the last runs recorded in the database."""
    store = Store(open_plan(mapping), db)
    try:
        with store.session() as session:
            if not sa.inspect(session.connection).has_table(runs.name):
                click.echo(f"no Genesys run recorded in {store.display_url} yet")
                return
            state = State(session.connection)
            for stream, watermark in sorted(state.all_watermarks().items()):
                click.echo(f"watermark {stream}: {format_instant(watermark)}")
            for record in state.open_jobs():
                click.echo(f"unfinished job {record.job_id} ({record.purpose}) "
                           f"{format_interval(record.interval_start, record.interval_end)}: {record.pages} pages, "
                           f"{record.conversations} conversations read")
            for run in state.recent_runs():
                click.echo(f"run {run['run_id']} {run['command']} {run_status(run)}: started "
                           f"{format_instant(utc(run['started_at']))}, {run['documents'] or 0} documents, "
                           f"{run['requests'] or 0} requests" + (f": {run['error']}" if run["error"] else ""))
    finally:
        store.dispose()
