"""The inbox's words in zh-CN and en."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "title": {"zh-CN": "投顾审核工作台", "en": "Advisor inbox"},
    "sign_in": {"zh-CN": "登录", "en": "Sign in"},
    "sign_out": {"zh-CN": "退出", "en": "Sign out"},
    "token": {"zh-CN": "访问令牌", "en": "Access token"},
    "bad_token": {"zh-CN": "令牌无效或已失效。", "en": "That token is invalid or revoked."},
    "too_many_sign_ins": {
        "zh-CN": "登录尝试次数过多，请 {seconds} 秒后重试。",
        "en": "Too many sign-in attempts: retry in {seconds} s.",
    },
    "queue": {"zh-CN": "待审核方案", "en": "Plans awaiting sign-off"},
    "client": {"zh-CN": "客户", "en": "Client"},
    "tier": {"zh-CN": "客户层级", "en": "Tier"},
    "level": {"zh-CN": "风险等级", "en": "Risk level"},
    "waited": {"zh-CN": "已等待", "en": "Waiting"},
    "flags": {"zh-CN": "提示", "en": "Flags"},
    "advisor": {"zh-CN": "投资顾问", "en": "Advisor"},
    "filter": {"zh-CN": "筛选", "en": "Filter"},
    "all": {"zh-CN": "全部", "en": "All"},
    "empty": {"zh-CN": "暂无待审核方案。", "en": "Nothing is waiting for you."},
    "open": {"zh-CN": "查看", "en": "Open"},
    "profile": {"zh-CN": "客户画像", "en": "Client profile"},
    "behaviour": {"zh-CN": "交易行为提示", "en": "Behaviour flags"},
    "allocation": {"zh-CN": "配置方案与现有持仓", "en": "Allocation and current holdings"},
    "target": {"zh-CN": "建议配置", "en": "Proposed"},
    "current": {"zh-CN": "现有持仓", "en": "Current"},
    "trades": {"zh-CN": "调仓交易", "en": "Trades"},
    "risk_return": {"zh-CN": "预期风险与收益", "en": "Expected risk and return"},
    "plan": {"zh-CN": "本方案", "en": "This plan"},
    "baseline": {"zh-CN": "等权基准 1/N", "en": "Equal weight 1/N"},
    "return": {"zh-CN": "预期年化收益", "en": "Expected return"},
    "volatility": {"zh-CN": "预期年化波动", "en": "Expected volatility"},
    "rationale": {"zh-CN": "配置理由", "en": "Rationale"},
    "findings": {"zh-CN": "合规检查结果", "en": "Compliance findings"},
    "verdict": {"zh-CN": "结论", "en": "Verdict"},
    "no_findings": {"zh-CN": "全部规则通过。", "en": "Every rule passed."},
    "disclosures": {
        "zh-CN": "客户将收到的文本（含披露）",
        "en": "Text the client receives (with disclosures)",
    },
    "client_letter": {
        "zh-CN": "客户将收到的信件（客户的语言）",
        "en": "The letter the client receives (in the client's language)",
    },
    "letter_unsigned": {
        "zh-CN": "交付时，信件末尾将附上批准该方案的投资顾问的姓名、执业证书编号和日期。",
        "en": "On delivery the letter closes with the approving advisor's name, registration "
        "number and the date.",
    },
    "letter_replaced": {
        "zh-CN": "该方案已被修订，客户将收到修订后方案的信件。",
        "en": "This plan has been revised: the client receives the revised plan's letter.",
    },
    "sources": {"zh-CN": "研究来源", "en": "Research sources"},
    "audit": {"zh-CN": "审计轨迹", "en": "Audit trail"},
    "decide": {"zh-CN": "审核决定", "en": "Decision"},
    "approve": {"zh-CN": "批准并发送", "en": "Approve and send"},
    "reject": {"zh-CN": "退回", "en": "Reject"},
    "reason": {"zh-CN": "原因（退回时必填）", "en": "Reason (required to reject)"},
    "revise": {"zh-CN": "调整权重并重新检查", "en": "Revise weights and re-check"},
    "revise_note": {
        "zh-CN": "调整后的方案会先经合规检查，结果显示后方可批准。",
        "en": "A revision is checked by compliance first; you approve it after.",
    },
    "not_approvable": {
        "zh-CN": "该方案未通过合规检查，只能调整或退回。",
        "en": "This plan failed compliance: revise it or reject it.",
    },
    "client_changed": {
        "zh-CN": "客户信息自方案生成后已变更，不能按原方案批准或调整；请退回并重新生成方案：",
        "en": "The client's record changed since this plan was drafted, so it cannot be approved "
        "or revised as it stands; reject it and start a new run:",
    },
    "delivered": {"zh-CN": "方案已发送给客户。", "en": "The plan was delivered to the client."},
    "rejected": {"zh-CN": "方案已退回。", "en": "The plan was rejected."},
    "revised": {
        "zh-CN": "已提交调整，请查看新的合规检查结果。",
        "en": "Revision submitted: see its compliance result below.",
    },
    # A decision answers once it is recorded; the run carries on from it in the background.
    "recorded_approve": {
        "zh-CN": "审核决定已记录，正在将方案发送给客户……",
        "en": "Decision recorded: the plan is being delivered to the client…",
    },
    "recorded_reject": {
        "zh-CN": "审核决定已记录，正在退回方案……",
        "en": "Decision recorded: the plan is being rejected…",
    },
    "recorded_revise": {
        "zh-CN": "调整已记录，正在重新进行合规检查……",
        "en": "Revision recorded: the revised plan is being checked by compliance…",
    },
    "resuming_approve": {
        "zh-CN": "正在发送方案，本页将自动刷新。",
        "en": "Delivering the plan: this page refreshes itself.",
    },
    "resuming_reject": {
        "zh-CN": "正在退回方案，本页将自动刷新。",
        "en": "Rejecting the plan: this page refreshes itself.",
    },
    "resuming_revise": {
        "zh-CN": "正在生成并检查调整后的方案，本页将自动刷新。",
        "en": "Revising the plan and checking it: this page refreshes itself.",
    },
    "resuming_slow": {
        "zh-CN": "决定已记录，运行仍在处理中（服务器可能正在恢复），请稍后刷新本页。",
        "en": "The decision is recorded and the run is still being carried on (a server may be "
        "recovering it): reload this page later.",
    },
    "not_done": {
        "zh-CN": "审核决定已记录，但运行未按该决定完成，请查看当前状态。",
        "en": "The decision is recorded, but the run did not end as decided: see its status.",
    },
    "stale": {
        "zh-CN": "该方案已更新，请刷新后重新审核。",
        "en": "This plan has changed since you opened it: review the current one.",
    },
    "decided": {"zh-CN": "该方案已有审核决定。", "en": "This plan was already decided."},
    "status": {"zh-CN": "状态", "en": "Status"},
    "evals": {"zh-CN": "评测报告", "en": "Eval reports"},
    "suite": {"zh-CN": "评测集", "en": "Suite"},
    "pass_rate": {"zh-CN": "通过率", "en": "Pass rate"},
    "gate": {"zh-CN": "门禁", "en": "Gate"},
    "no_evals": {"zh-CN": "暂无评测。", "en": "No eval has run yet."},
    "language": {"zh-CN": "English", "en": "中文"},
    "error": {"zh-CN": "操作未完成：", "en": "Not done: "},
    "chain_ok": {"zh-CN": "哈希链校验通过", "en": "hash chain verified"},
    "chain_broken": {"zh-CN": "哈希链校验失败", "en": "hash chain BROKEN"},
    "no_change": {"zh-CN": "已是最新状态", "en": "This review is closed; see the latest one."},
    # The client's own request (issue 14): their words, how they were read, where each went.
    "request": {"zh-CN": "客户的要求", "en": "Client's request"},
    "request_words": {"zh-CN": "客户原话（已脱敏）", "en": "In the client's words (masked)"},
    "request_read": {"zh-CN": "系统理解", "en": "As understood"},
    "request_by": {"zh-CN": "解读方式", "en": "Read by"},
    "reader_lexicon": {"zh-CN": "词典", "en": "lexicon"},
    "reader_model": {"zh-CN": "模型", "en": "model"},
    "request_wish": {"zh-CN": "要求", "en": "Wish"},
    "request_target": {"zh-CN": "对象", "en": "What"},
    "request_share": {"zh-CN": "比例/金额", "en": "Share / amount"},
    "request_route": {"zh-CN": "处理", "en": "Route"},
    "request_none": {"zh-CN": "未识别出具体要求。", "en": "No specific wish was recognised."},
    "dir_more": {"zh-CN": "多配", "en": "more"},
    "dir_less": {"zh-CN": "少配", "en": "less"},
    "dir_buy": {"zh-CN": "买入", "en": "buy"},
    "dir_sell": {"zh-CN": "卖出", "en": "sell"},
    "dir_avoid": {"zh-CN": "不要", "en": "avoid"},
    "route_shaped": {"zh-CN": "可办理/已调整", "en": "Suitable: shaped the plan"},
    "route_above_level": {"zh-CN": "高于风险等级", "en": "Above the client's risk level"},
    "route_lowest_category": {
        "zh-CN": "最低类别拒绝",
        "en": "Refused: lowest risk category",
    },
    "route_no_access": {"zh-CN": "不符合准入", "en": "Client not eligible to buy"},
    "route_horizon": {"zh-CN": "期限不符", "en": "Does not fit the horizon"},
    "route_not_offered": {"zh-CN": "不在产品货架", "en": "Not on the shelf"},
    "route_not_planned": {
        "zh-CN": "未纳入本方案（按客户评估等级配置）",
        "en": "Not in this plan (planned at the assessed level)",
    },
    "route_unknown": {"zh-CN": "—", "en": "—"},
    "request_above": {"zh-CN": "高于等级的产品", "en": "Above the level"},
    "cash_needs": {"zh-CN": "资金需求", "en": "Cash needs"},
    "cash_need": {"zh-CN": "{amount} 元", "en": "CNY {amount}"},
    "cash_need_any": {"zh-CN": "金额未说明", "en": "amount not given"},
    "cash_within": {"zh-CN": "{months} 个月内", "en": "within {months} months"},
    "request_horizon": {"zh-CN": "投资期限 {years} 年", "en": "Horizon {years} years"},
    "risk_lower": {"zh-CN": "希望整体更稳健", "en": "Wants the plan safer"},
    "risk_higher": {"zh-CN": "希望收益更高", "en": "Wants higher returns"},
    "not_understood": {
        "zh-CN": "未能理解（请与客户确认）",
        "en": "Not understood (check with the client)",
    },
    "unsuitability": {
        "zh-CN": "不适当警示（须按步骤办理）",
        "en": "Unsuitability warning (follow the steps)",
    },
    "request_outcomes": {"zh-CN": "要求对方案的影响", "en": "What the request changed"},
    "share_before": {"zh-CN": "不含要求", "en": "Without the request"},
    "share_after": {"zh-CN": "本方案", "en": "This plan"},
    "outcome": {"zh-CN": "结果", "en": "Outcome"},
    "done_done": {"zh-CN": "已完成", "en": "done"},
    "done_partly": {"zh-CN": "部分完成", "en": "partly done"},
    "done_not_done": {"zh-CN": "未完成", "en": "not done"},
    "reason_not_eligible": {
        "zh-CN": "无可配置的产品（风险等级、准入、期限或起投金额）",
        "en": "no product the plan may hold (risk level, access, horizon or minimum)",
    },
    "reason_unconfirmed": {"zh-CN": "待投资顾问确认", "en": "awaiting the advisor's confirmation"},
    "reason_minimum": {
        "zh-CN": "起投金额高于方案可配置的金额",
        "en": "its minimum investment is above what the plan can place",
    },
    "reason_limits": {"zh-CN": "受方案限制", "en": "held back by the plan's limits"},
    "reason_reserve": {
        "zh-CN": "须保留的流动性储备",
        "en": "the liquidity reserve the plan must keep",
    },
    "reason_already": {"zh-CN": "方案原已满足", "en": "the plan already did so"},
    "risk_wish": {"zh-CN": "整体风险", "en": "Overall risk"},
    # The queue at batch scale (issue 16 §5): sorted, paged, timed against the review target.
    "sort": {"zh-CN": "排序", "en": "Sort"},
    "sort_waited": {"zh-CN": "等待最久优先", "en": "Longest waiting first"},
    "sort_risk": {"zh-CN": "风险最高优先", "en": "Highest risk first"},
    "sort_verdict": {"zh-CN": "合规结论最严重优先", "en": "Most severe verdict first"},
    "waited_of": {"zh-CN": "已等待 {waited}（时限 {target}）", "en": "waited {waited} of {target}"},
    "past_target": {"zh-CN": "已超时 {over}", "en": "past target by {over}"},
    "span_minutes": {"zh-CN": "{n} 分钟", "en": "{n} min"},
    "span_hours": {"zh-CN": "{n} 小时", "en": "{n} h"},
    "span_days": {"zh-CN": "{d} 天 {h} 小时", "en": "{d} d {h} h"},
    "queue_count": {
        "zh-CN": "共 {total} 个待审核，其中 {overdue} 个已超过审核时限（{target}）。",
        "en": "{total} waiting; {overdue} past the review target of {target}.",
    },
    "showing": {"zh-CN": "第 {start}–{end} 个，共 {total} 个", "en": "{start}–{end} of {total}"},
    "first_page": {"zh-CN": "第一页", "en": "First page"},
    "previous_page": {"zh-CN": "上一页", "en": "Previous"},
    "next_page": {"zh-CN": "下一页", "en": "Next"},
    "page_empty": {
        "zh-CN": "此页已无待审核方案（可能已被处理），请回到第一页。",
        "en": "Nothing is left on this page (it may have been reviewed): go to the first page.",
    },
    # The plan against the client's holdings and the plan last delivered to them.
    "weight_changes": {"zh-CN": "方案变化", "en": "What this plan changes"},
    "product": {"zh-CN": "产品", "en": "Product"},
    "weight_current": {"zh-CN": "现有持仓", "en": "Held now"},
    "weight_last": {"zh-CN": "上次发送的方案", "en": "Last delivered plan"},
    "weight_proposed": {"zh-CN": "本方案", "en": "This plan"},
    "change_vs_current": {"zh-CN": "较现有持仓（百分点）", "en": "Change vs held (pp)"},
    "change_vs_last": {"zh-CN": "较上次方案（百分点）", "en": "Change vs last plan (pp)"},
    "total": {"zh-CN": "合计", "en": "Total"},
    "last_delivered": {
        "zh-CN": "上次方案于 {date} 发送给客户（运行 {run}）。",
        "en": "The last plan was delivered to this client on {date} (run {run}).",
    },
    "no_last_delivered": {
        "zh-CN": "此前没有向该客户发送过方案：仅与现有持仓对比。",
        "en": "No earlier plan was delivered to this client: compared with current holdings only.",
    },
    "weights_note": {
        "zh-CN": "现有持仓为各产品市值占客户资产（AUM）的比例，其余为未投资的现金。",
        "en": "Held now is each holding's market value as a share of the client's assets (AUM); "
        "the rest is cash not held in a product.",
    },
    # Outcomes of delivered plans (issue 17, 服务效果): figures with volatility and the disclosure.
    "outcomes": {"zh-CN": "服务效果", "en": "Outcomes"},
    "delivered_from": {"zh-CN": "方案日期自", "en": "Plans dated from"},
    "delivered_to": {"zh-CN": "至", "en": "to"},
    "outcomes_note": {
        "zh-CN": "按方案日期（as_of）统计期间内发送的全部方案（含此后离开或已重新规划的客户），"
        "以已导入的价格测算至最新价格日；买入持有，不计费用。",
        "en": "Every plan delivered in the period, by its as_of date (clients who left or were "
        "planned again since included), measured on the imported prices to the last price day; "
        "bought and held, before costs.",
    },
    "outcomes_pending": {
        "zh-CN": "仍有 {n} 个已发送方案待按最新价格测算（后台进行中）："
        "下列数字暂按其此前的测算结果计算，或尚未包含它们。请稍后刷新。",
        "en": "{n} delivered plans are still to be measured on the latest prices (in the "
        "background): until then the figures below show them as last measured, or leave them "
        "out. Reload the page later.",
    },
    "outcomes_by_advisor": {"zh-CN": "按投资顾问", "en": "By advisor"},
    "plans_delivered": {"zh-CN": "发送方案数", "en": "Plans delivered"},
    "plans_measured": {"zh-CN": "可测算", "en": "Measured"},
    "median_versus_holdings": {
        "zh-CN": "较原持仓超额收益（中位数）",
        "en": "Median excess over holdings",
    },
    "median_versus_equal_weight": {
        "zh-CN": "较等权 1/N 超额收益（中位数）",
        "en": "Median excess over 1/N",
    },
    "iqr": {"zh-CN": "四分位区间", "en": "Interquartile range"},
    "median_return": {"zh-CN": "方案收益（中位数）", "en": "Median return"},
    "median_volatility": {"zh-CN": "方案波动率（中位数）", "en": "Median volatility"},
    "breach_share": {"zh-CN": "回撤超限占比", "en": "Past tolerance"},
    "outcomes_figures_note": {
        "zh-CN": "收益与超额收益为期间累计值；波动率满一年按年化计算，不足一年为期间波动率。",
        "en": "Returns and excess returns are cumulative over each plan's period; volatility is "
        "annualised for a period of a year or more and over the period itself under that.",
    },
    "chart_title": {
        "zh-CN": "各投资顾问已发送方案较基准的超额收益",
        "en": "Each advisor's delivered plans against their baselines",
    },
    "chart_desc": {
        "zh-CN": "{advisors} 位投资顾问的 {plans} 个可测算方案：圆点为较客户原持仓的累计超额收益，"
        "方块为较等权 1/N 的累计超额收益，虚线为零；"
        "其中 {breaches} 个方案最大回撤超过客户承受上限，以红圈标出。",
        "en": "{plans} measured plans of {advisors} advisors: a circle at each plan's cumulative "
        "excess return over the client's holdings, a square at its excess over 1/N, a dashed line "
        "at zero; {breaches} plans whose drawdown passed the client's tolerance are ringed in red.",
    },
    "chart_capped": {
        "zh-CN": "图中及波动率中位数仅含该期间最近的 {shown} 个方案（共 {total} 个）；"
        "其余各列按全部方案计算。",
        "en": "The chart and the median volatility show the newest {shown} of {total} plans "
        "delivered in the period; the other columns count them all.",
    },
    "chart_axis": {
        "zh-CN": "期间累计超额收益（%）",
        "en": "Cumulative excess return over the period (%)",
    },
    "versus_holdings": {"zh-CN": "较原持仓", "en": "vs holdings"},
    "versus_equal_weight": {"zh-CN": "较等权 1/N", "en": "vs 1/N"},
    "no_outcomes": {
        "zh-CN": "该期间没有已发送的方案。",
        "en": "No plan was delivered in this period.",
    },
    "breaches": {
        "zh-CN": "最大回撤超过客户承受上限的方案",
        "en": "Plans whose drawdown passed the client's tolerance",
    },
    "breaches_shown": {
        "zh-CN": "显示最近的 {shown} 个，共 {total} 个。",
        "en": "The newest {shown} of {total}.",
    },
    "no_breaches": {
        "zh-CN": "没有客户当前方案的回撤超过其承受上限。",
        "en": "No client's current plan has a drawdown past their tolerance.",
    },
    "plan_run": {"zh-CN": "方案（运行）", "en": "Plan (run)"},
    "outcome_window": {"zh-CN": "测算期间", "en": "Measured"},
    "drawdown_vs_tolerance": {
        "zh-CN": "最大回撤 / 承受上限",
        "en": "Max drawdown / tolerance",
    },
    "drawdown_flag": {"zh-CN": "回撤超限", "en": "Drawdown past tolerance"},
    "drawdown_flag_note": {
        "zh-CN": "客户最近一次发送的方案最大回撤已超过其承受上限",
        "en": "The drawdown of the client's last delivered plan passed their tolerance",
    },
    "drawdown_past": {
        "zh-CN": "最大回撤 {drawdown}，超过客户承受上限 {tolerance}",
        "en": "max drawdown {drawdown}, past the client's tolerance of {tolerance}",
    },
    "plan_not_yours_now": {
        "zh-CN": "该客户现已不由您服务：此方案仅计入您的汇总数据",
        "en": "A client you no longer serve: this plan counts in your figures only",
    },
    "outcome_replaced": {
        "zh-CN": "此后已向客户发送了新的方案，本方案已被取代",
        "en": "A newer plan has been delivered to the client since; this one is replaced",
    },
    "last_outcome": {
        "zh-CN": "客户最近一次发送方案的实际效果",
        "en": "How the client's last delivered plan did",
    },
    "outcome_period": {
        "zh-CN": "{start} 至 {end}（{n} 个月）",
        "en": "{start} to {end} ({n} months)",
    },
    "not_client_facing": {
        "zh-CN": "不足六个月，不得向客户展示",
        "en": "under six months: not to be shown to the client",
    },
    "unmeasured": {"zh-CN": "无法测算", "en": "Not measured"},
    "outcome_plan": {"zh-CN": "已发送方案", "en": "Delivered plan"},
    "baseline_holdings": {"zh-CN": "客户原持仓（不调整）", "en": "Client's holdings (no change)"},
    "baseline_equal_weight": {"zh-CN": "等权基准 1/N", "en": "Equal weight 1/N"},
    "outcome_return": {"zh-CN": "期间收益", "en": "Return over the period"},
    "annualised_return": {"zh-CN": "年化收益", "en": "Annualised return"},
    "volatility_annual": {"zh-CN": "年化波动率", "en": "Annualised volatility"},
    "volatility_period": {"zh-CN": "期间波动率", "en": "Volatility over the period"},
    "max_drawdown": {"zh-CN": "最大回撤", "en": "Max drawdown"},
    "coverage": {"zh-CN": "有价格的权重", "en": "Priced weight"},
    "breach_cause": {"zh-CN": "由哪次价格导入造成", "en": "Made by price import"},
    "first_measure": {"zh-CN": "首次测算即超出", "en": "Beyond at its first measure"},
    "missing_products": {"zh-CN": "无价格的产品（权重）", "en": "Without prices (weight)"},
    "excess": {"zh-CN": "超额收益", "en": "Excess return"},
    "cash_yield_note": {
        "zh-CN": "{codes} 无交易价格，按现金收益率 {rate} 计（{basis}）。",
        "en": "{codes} have no traded price and grow at the cash yield of {rate} ({basis}).",
    },
    # The duty pool (值班投顾): reviews whose client has no advisor, claimed by an advisor on duty.
    "pool": {"zh-CN": "值班投顾待领取", "en": "Duty pool"},
    "pool_intro": {
        "zh-CN": "以下客户没有指定投资顾问。值班投顾领取后即由其审核；先领取者审核。",
        "en": "These clients have no advisor. An advisor on duty claims a review and decides "
        "it; the first to claim it has it.",
    },
    "pool_count": {
        "zh-CN": "值班池中共 {total} 个未领取，其中 {overdue} 个已超过审核时限（{target}）。",
        "en": "{total} unclaimed in the duty pool; {overdue} past the review target of {target}.",
    },
    "pool_empty": {"zh-CN": "值班池中暂无待领取的审核。", "en": "Nothing waits in the duty pool."},
    "on_duty_now": {"zh-CN": "当前值班投顾：{names}", "en": "On duty now: {names}"},
    "nobody_on_duty": {
        "zh-CN": "当前无人值班，值班池中的审核无人领取。",
        "en": "Nobody is on duty: no one can claim the pool's reviews.",
    },
    "you_on_duty": {"zh-CN": "您正在值班。", "en": "You are on duty."},
    "you_off_duty": {
        "zh-CN": "您未在值班，值班后才能领取审核。",
        "en": "You are off duty: go on duty to claim reviews.",
    },
    "go_on_duty": {"zh-CN": "开始值班", "en": "Go on duty"},
    "go_off_duty": {"zh-CN": "结束值班", "en": "Go off duty"},
    "claim": {"zh-CN": "领取", "en": "Claim"},
    "claim_note": {
        "zh-CN": "该客户没有指定投资顾问，此审核在值班池中。领取后由您审核。",
        "en": "This client has no advisor: the review waits in the duty pool. Claim it to "
        "decide it.",
    },
    "claimed": {"zh-CN": "已领取，现在由您审核。", "en": "Claimed: the review is yours to decide."},
    "claimed_by_other": {
        "zh-CN": "该审核已被其他值班投顾领取。",
        "en": "Another advisor on duty claimed this review first.",
    },
    "claimed_by_label": {"zh-CN": "值班领取人", "en": "Claimed by"},
    "duty_on": {"zh-CN": "您已开始值班。", "en": "You are on duty now."},
    "duty_off": {"zh-CN": "您已结束值班。", "en": "You are off duty now."},
    # Follow-up calls after special-care acceptances (issue 28).
    "callbacks": {"zh-CN": "回访", "en": "Follow-up calls"},
    "callbacks_note": {
        "zh-CN": "以下客户已在冷静期后确认接受较高风险部分。"
        "请致电确认客户理解所接受的风险，并记录结果。",
        "en": "These clients accepted the higher-risk part after the cooling-off. Call to check "
        "they understood the risks they accepted, then record how it went.",
    },
    "callback_offered": {"zh-CN": "接受的产品", "en": "Products accepted"},
    "callback_accepted_at": {"zh-CN": "接受时间", "en": "Accepted"},
    "callback_outcome": {"zh-CN": "回访结果", "en": "Outcome"},
    "callback_confirmed": {"zh-CN": "客户确认", "en": "Confirmed"},
    "callback_concerns": {"zh-CN": "客户有疑虑", "en": "Has concerns"},
    "callback_unreachable": {"zh-CN": "未能联系", "en": "Unreachable"},
    "callback_note": {"zh-CN": "备注", "en": "Note"},
    "callback_done": {"zh-CN": "记录回访", "en": "Record the call"},
    "callback_recorded": {"zh-CN": "回访结果已记录。", "en": "The call is recorded."},
    "callbacks_more": {
        "zh-CN": "还有更多回访未在此列出，请先处理以上各项。",
        "en": "More calls wait beyond these; deal with the ones above first.",
    },
    "no_callbacks": {"zh-CN": "暂无待回访客户。", "en": "No follow-up calls are waiting."},
    "duty_pool": {"zh-CN": "值班投顾", "en": "Duty pool"},
    "special_care_accepted": {
        "zh-CN": "客户已在冷静期后确认接受较高风险部分（专门程序）",
        "en": "The client accepted the higher-risk part after the cooling-off (special care)",
    },
    "special_care_offered": {"zh-CN": "接受的产品", "en": "Products accepted"},
    "special_care_times": {
        "zh-CN": "{offered} UTC 发出，{accepted} UTC 接受，冷静期 {hours} 小时",
        "en": "offered {offered} UTC, accepted {accepted} UTC, cooling-off {hours} hours",
    },
    "special_care_acknowledged": {"zh-CN": "客户确认已记录", "en": "acknowledgement recorded"},
    "special_care_not_acknowledged": {
        "zh-CN": "客户确认未记录",
        "en": "acknowledgement NOT recorded",
    },
    "special_care_offer_run": {"zh-CN": "原方案", "en": "offered in run"},
}


def translator(locale: str):  # type: ignore[no-untyped-def]
    """t(key) in the locale, falling back to English."""

    def t(key: str) -> str:
        entry = WORDS[key]
        return entry.get(locale) or entry["en"]

    return t
