"""`manage.py recommend_eval`: hit rate@10 and nDCG@10 of the blend, popularity and content on
generated sessions, with the shuffled control and the little-traffic segment; `--tune` first
chooses the blend weights on the dev split (and writes recommender/blend_tuning.json)."""
import json

from django.conf import settings
from django.core.management.base import BaseCommand
from rich.console import Console
from rich.progress import track
from rich.table import Table

from contentlib import traffic
from recommender import blend, evaluation
from recommender.cooccurrence import BuildParams


class Command(BaseCommand):
    help = "Offline evaluation of recommendation on generated reader sessions (docs/RECOMMENDATION.md)."

    def add_arguments(self, parser):
        parser.add_argument("--tune", action="store_true", help="Choose the blend weights on dev and write them.")
        parser.add_argument("--params", help="Traffic parameters (default fixtures/traffic/params.yaml).")
        parser.add_argument("--readers", type=int, help="Override the number of generated readers.")
        parser.add_argument("--json", dest="json_path", help="Also write the figures to this JSON file.")

    def handle(self, *args, tune, params, readers, json_path, **options):
        console = Console(file=self.stdout, width=170)
        values = traffic.params_load(params)
        if readers:
            values["readers"]["count"] = readers
        build = BuildParams(min_support=settings.COOCCURRENCE_MIN_SUPPORT, top_k=settings.COOCCURRENCE_TOP_K,
                            min_llr=settings.COOCCURRENCE_MIN_LLR)
        min_readers = settings.COOCCURRENCE_MIN_READERS
        console.print("Content vectors (e5) of every query and article the generator can draw…")
        space = evaluation.space_build()
        sessions = evaluation.sessions_generate(values)
        runs = {"generated": evaluation.prepare(sessions, space, build),
                "control (shuffled across readers)": evaluation.prepare(
                    evaluation.shuffled(sessions, seed=int(values.get("seed", 0)) + 1), space, build)}
        weights = {surface: blend.weights_for(surface) for surface in blend.SURFACES}
        if tune:
            tuning = {"tuned_on": "dev split of generated sessions (fixtures/traffic/params.yaml)", "surfaces": {}}
            for surface in track(blend.SURFACES, description="Tuning on dev", console=console):
                best, tried = evaluation.tune(runs["generated"], surface=surface, min_readers=min_readers)
                weights[surface] = best
                tuning["surfaces"][surface] = {"cooccurrence": best.cooccurrence,
                                               "dev_hit_at_10": {f"{t[3].cooccurrence:.1f}": round(t[0], 4) for t in tried}}
            blend.TUNING_FILE.write_text(json.dumps(tuning, indent=1) + "\n", encoding="utf-8")
            blend._tuned.cache_clear()
        figures = {"readers": values["readers"]["count"], "weights": {s: vars(w) for s, w in weights.items()}}
        for run_name, prepared in runs.items():
            for surface in blend.SURFACES:
                report = evaluation.evaluate(prepared, split="test", surface=surface, weights=weights[surface],
                                             min_readers=min_readers)
                figures[f"{run_name} / {surface}"] = report
                held_out = "query" if surface == "queries" else "article read"
                table = Table(title=f"{run_name}: held-out last {held_out}, test split ({report['cases']} sessions); "
                                    f"co-occurrence weight {weights[surface].cooccurrence}")
                for column in ("segment", "cases", *[f"{m} hit@10" for m in evaluation.METHODS],
                               *[f"{m} nDCG@10" for m in evaluation.METHODS], "blend vs best baseline",
                               "blend vs content"):
                    table.add_column(column, justify="right")
                for segment, data in (("all", report), ("little traffic (< %d readers)" % min_readers,
                                                        report["little_traffic"]), ("with traffic", report["with_traffic"])):
                    best = max(data["popularity"]["hit"], data["content"]["hit"]) if data["cases"] else 0
                    gain = f"{(data['blend']['hit'] / best - 1) * 100:+.1f}%" if best else "—"
                    over_content = f"{data['blend']['hit'] - data['content']['hit']:+.3f}"
                    table.add_row(segment, str(data["cases"]), *[f"{data[m]['hit']:.3f}" for m in evaluation.METHODS],
                                  *[f"{data[m]['ndcg']:.3f}" for m in evaluation.METHODS], gain, over_content)
                console.print(table)
        if json_path:
            with open(json_path, "w", encoding="utf-8") as out:
                json.dump(figures, out, indent=1, default=str)
