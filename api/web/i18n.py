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
}


def translator(locale: str):  # type: ignore[no-untyped-def]
    """t(key) in the locale, falling back to English."""

    def t(key: str) -> str:
        entry = WORDS[key]
        return entry.get(locale) or entry["en"]

    return t
