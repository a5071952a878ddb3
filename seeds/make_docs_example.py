"""Rebuild the binary files of the example corpus in seeds/docs-example/ (the others are plain text).

    python seeds/make_docs_example.py

Writes employee-handbook.docx (python-docx) and hs200-operator-manual.pdf (fpdf2). Dates and
ZIP timestamps are fixed, so a rebuild gives the same bytes and the same content hashes.
The content is fictional: Tidewater Robotics and its products do not exist.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent / "docs-example"

# --- the employee handbook (DOCX) --------------------------------------------------------------

HANDBOOK: list[tuple[str, object]] = [
    ("title", "Tidewater Robotics Employee Handbook"),
    ("p", ("Version 4.2, valid from 3 February 2025. Questions about this handbook go to People Operations at "
          "people@tidewater-robotics.example.")),
    ("h1", "Welcome"),
    ("p", ("Tidewater Robotics builds underwater robots that clean and inspect ship hulls. The company was founded "
          "in 2016 in Portsmouth, New Hampshire, by Marisol Okafor (Chief Executive Officer) and Dev Lindqvist "
          "(Chief Technology Officer). We employ 140 people in two offices, Portsmouth and Halifax, Nova Scotia, "
          "and a field service team that works from customers' marinas and shipyards.")),
    ("h1", "Working hours"),
    ("p", ("The standard working week is 40 hours. Core hours, when everyone is expected to be reachable, are "
          "10:00 to 15:00 Eastern Time, Monday to Friday; outside core hours you may arrange your day with your "
          "manager. Employees may work remotely up to three days a week; field service technicians follow the "
          "schedule of their assignments.")),
    ("p", ("Field service technicians take part in an on-call rotation one week in six. Each on-call week is paid "
          "a stipend of $150, and time spent on a call-out is paid at 1.5 times the regular hourly rate.")),
    ("h1", "Leave"),
    ("h2", "Paid time off"),
    ("p", ("Full-time employees receive 22 days of paid time off per calendar year, accrued at 1.83 days per "
          "month. Up to 5 unused days carry over into the next year and must be taken by 31 March; days above "
          "that expire. Requests for more than 5 consecutive days need two weeks' notice in the HR portal.")),
    ("h2", "Parental leave"),
    ("p", ("Birthing parents receive 16 weeks of fully paid parental leave, and non-birthing parents 12 weeks. "
          "Employees become eligible after 6 months of employment. Give People Operations at least 30 days' "
          "notice before the leave starts where you can. Parental leave may be split into at most two blocks "
          "taken within the child's first year.")),
    ("h2", "Sick leave"),
    ("p", ("Every employee has 10 paid sick days a year, which do not carry over. A doctor's note is needed "
          "after 3 consecutive sick days. Sick days may also be used to care for a sick child or partner.")),
    ("h1", "Benefits"),
    ("table", [["Benefit", "What you get"],
               ["Retirement plan", "401(k) with a company match of 4 % of salary"],
               ["Learning budget", "$1,500 per year for courses, books and conferences"],
               ["Wellness allowance", "$50 per month, paid with salary"],
               ["Health insurance", "Company pays 90 % of the premium for employees and 75 % for dependants"]]),
    ("h1", "Expenses and travel"),
    ("p", ("Business travel is booked through the travel desk. Hotels are reimbursed up to $220 per night, and "
          "meals at a per diem of $65 for domestic and $85 for international trips. Submit expenses in Ramp "
          "within 30 days of the trip with receipts for every item above $25. Any single expense above $500 "
          "needs your manager's approval before it is incurred.")),
    ("h1", "Equipment and security"),
    ("p", ("Laptops are replaced every 3 years. Multi-factor authentication is required on every company "
          "account. Report a lost or stolen device to security@tidewater-robotics.example within 24 hours; the "
          "device will be wiped remotely. Customer data is handled as set out in policy note PN-7.")),
    ("h1", "Field safety"),
    ("p", "Safety rules apply to everyone who works on a dock, a boat or a vessel under service."),
    ("bullet", "Wear a life jacket on every dock and boat, whatever the weather."),
    ("bullet", "Dives follow the two-person rule: no one dives alone, and a second diver stands by on the surface."),
    ("bullet", "No diving and no robot deployment when the wind exceeds 20 knots or visibility is below 2 metres."),
    ("bullet", ("Before touching a HullSweep robot, lock it out: switch it off at the dock panel and remove the "
               "yellow tether key.")),
    ("p", "Report every incident and near miss to the Safety Officer, Priya Raman, on the same day."),
]


def _fixed_zip(data: bytes, when: tuple[int, int, int, int, int, int]) -> bytes:
    """Rewrite a ZIP (a .docx) with one timestamp on every entry, so rebuilds are byte-identical."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=when)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def build_handbook(path: Path) -> None:
    import docx

    document = docx.Document()
    for kind, value in HANDBOOK:
        if kind == "title":
            document.add_heading(str(value), 0)
        elif kind in ("h1", "h2"):
            document.add_heading(str(value), int(kind[1]))
        elif kind == "bullet":
            document.add_paragraph(str(value), style="List Bullet")
        elif kind == "table":
            rows = value  # type: ignore[assignment]
            table = document.add_table(rows=len(rows), cols=len(rows[0]))  # type: ignore[arg-type]
            table.style = "Table Grid"
            for r, row in enumerate(rows):  # type: ignore[arg-type]
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
        else:
            document.add_paragraph(str(value))
    props = document.core_properties
    props.title = "Tidewater Robotics Employee Handbook"
    props.author = "People Operations"
    props.created = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
    props.modified = datetime(2025, 2, 3, 9, 0, tzinfo=UTC)
    props.last_modified_by = "People Operations"
    buf = io.BytesIO()
    document.save(buf)
    path.write_bytes(_fixed_zip(buf.getvalue(), (2025, 2, 3, 9, 0, 0)))


# --- the operator manual (PDF) -----------------------------------------------------------------
# (kind, text): "h1"/"h2" headings with a bookmark, "p" a paragraph, "step" a numbered step,
# "spec" a two-column row, "page" a page break. Core PDF fonts are Latin-1: no curly quotes.

MANUAL: list[tuple[str, str]] = [
    ("h1", "1 Overview"),
    ("p", ("The HullSweep HS-200 is a battery-powered underwater robot that removes biofouling from ship hulls "
          "without divers in the water. It holds itself against the hull with a thruster-driven suction cup, "
          "cleans with two counter-rotating brushes, and stays connected to its dock by a tether that carries "
          "data and an emergency recovery line. This manual is for trained operators; read the safety section "
          "before the first deployment.")),
    ("h2", "1.1 Specifications"),
    ("spec", "Weight in air|38 kg"),
    ("spec", "Dimensions|92 x 64 x 31 cm"),
    ("spec", "Maximum operating depth|30 m"),
    ("spec", "Battery|2.4 kWh lithium iron phosphate (LiFePO4)"),
    ("spec", "Runtime on a full charge|4.5 hours in Standard mode"),
    ("spec", "Charging time|2 hours from 10 % to 100 % on the dock"),
    ("spec", "Cleaning rate|up to 450 square metres per hour"),
    ("spec", "Brush speed|120 to 300 rpm"),
    ("spec", "Tether length|60 m"),
    ("spec", "Water temperature range|-2 to 35 degrees Celsius"),
    ("h1", "2 Safety"),
    ("p", ("The robot weighs 38 kg: lift it with two people or with the dock crane, never alone. Keep hands away "
          "from the brushes whenever the status light is green or blinking green, because the brushes may start "
          "without warning during self-test.")),
    ("p", ("Do not deploy the robot when the wind exceeds 20 knots, when visibility in the water is below 2 "
          "metres, or when divers are in the water within 50 metres of the vessel. Before any maintenance, switch "
          "the robot off at the dock panel and remove the yellow tether key (lockout).")),
    ("p", ("If the leak alarm E52 sounds, the robot surfaces by itself. Do not open the housing on the dock: "
          "return it to a Tidewater service centre, because a flooded battery compartment can release gas.")),
    ("page", ""),
    ("h1", "3 Deployment"),
    ("p", "A deployment takes two operators and about 15 minutes from dock to hull. Follow the steps in order."),
    ("step", "Check the battery is at least 80 % on the dock display and that the tether has no visible damage."),
    ("step", ("Insert the yellow tether key and switch the robot on; wait for the self-test (about 90 seconds) "
             "to end with a steady green light.")),
    ("step", "Select the vessel and the cleaning mode in the Tidewater Console or on the dock panel."),
    ("step", "Lower the robot with the dock crane until it is fully submerged, then release the crane hook."),
    ("step", "Guide the robot to the hull with the remote; it attaches when the suction reading passes 0.35 bar."),
    ("step", "Start the job. Stay at the dock panel until the first lane is finished, then monitor remotely."),
    ("p", ("To recover the robot, press Return on the remote. It detaches, surfaces next to the dock, and waits "
          "for the crane. If it does not surface within 10 minutes, pull it in with the tether recovery line.")),
    ("page", ""),
    ("h1", "4 Cleaning modes"),
    ("p", ("Choose the mode from the hull coating, not from how dirty the hull looks. The wrong mode can strip "
          "soft coatings.")),
    ("spec", "Gentle|120 rpm, 25 N brush pressure; soft and ablative coatings, light slime"),
    ("spec", "Standard|200 rpm, 50 N brush pressure; most hard coatings, slime and weed"),
    ("spec", "Deep|300 rpm, 85 N brush pressure (firmware 3.2 or later); hard coatings only, barnacles"),
    ("p", ("Deep mode uses the battery about 40 % faster than Standard mode, so plan shorter jobs. Gentle mode "
          "needs firmware 3.1 or later.")),
    ("page", ""),
    ("h1", "5 Maintenance"),
    ("p", ("Rinse the robot with fresh water after every deployment and let it dry on the dock. Replace the "
          "brushes every 250 operating hours or earlier when the bristles are shorter than 18 mm. Replace the "
          "housing O-ring seals every 12 months, and after any E52 leak alarm. Firmware updates install "
          "automatically while the robot is docked with at least 60 % battery.")),
    ("p", ("The battery keeps at least 80 % of its capacity for 2,000 charge cycles. Store the robot at 40 to "
          "60 % charge when it will not be used for more than a month.")),
    ("page", ""),
    ("h1", "6 Troubleshooting"),
    ("p", ("The dock panel and the Console show an error code when the robot stops by itself. The most common "
          "codes are:")),
    ("spec", "E12|Battery below 15 %. The robot returns to the dock; recharge before the next job."),
    ("spec", "E31|Thruster stall, usually weed or rope in a thruster. Recover the robot and clear the thruster."),
    ("spec", "E47|Tether tension above 400 N. Check the tether is not caught on the vessel or the dock."),
    ("spec", "E52|Leak detected. The robot surfaces at once; send it to a service centre (see Safety)."),
    ("p", ("For any other code, or when an error repeats three times in one job, contact Tidewater support and "
          "give the robot serial number, which starts with HS2- and is printed under the handle.")),
    ("h1", "7 Warranty"),
    ("p", ("Tidewater Robotics warrants the HS-200 against defects in materials and workmanship for 2 years from "
          "delivery, and the pressure housing for 5 years. Brushes, O-rings and the tether are wear parts and "
          "are not covered. The warranty is void if the housing was opened by anyone other than a Tidewater "
          "service centre.")),
]


def build_manual(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title("HullSweep HS-200 Operator Manual")
    pdf.set_author("Tidewater Robotics, Inc.")
    pdf.set_creation_date(datetime(2025, 2, 14, 12, 0, tzinfo=UTC))
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 22)
    pdf.multi_cell(0, 11, "HullSweep HS-200\nOperator Manual", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Tidewater Robotics, Inc., Portsmouth, New Hampshire. Manual revision C, February 2025, "
                         "for firmware 3.1 and later.", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(6)
    step = 0
    for kind, text in MANUAL:
        if kind == "page":
            pdf.add_page()
        elif kind in ("h1", "h2"):
            level = int(kind[1])
            step = 0
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 16 if level == 1 else 13)
            pdf.start_section(text, level=level - 1)
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "spec":
            name, value = text.split("|", 1)
            pdf.set_font("Helvetica", "B", 10)
            pdf.cell(55, 6, name)
            pdf.set_font("Helvetica", size=10)
            pdf.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
        elif kind == "step":
            step += 1
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, f"Step {step}. {text}", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", size=11)
            pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


def main() -> None:
    HERE.mkdir(parents=True, exist_ok=True)
    build_handbook(HERE / "employee-handbook.docx")
    build_manual(HERE / "hs200-operator-manual.pdf")
    print(f"wrote {HERE / 'employee-handbook.docx'} and {HERE / 'hs200-operator-manual.pdf'}")


if __name__ == "__main__":
    main()
